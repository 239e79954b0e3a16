"""SIGINT and SIGTERM: training stops at the next chunk boundary with a checkpoint, one line saying how to
continue, exit 130 / 143, no traceback; the previous signal handlers are restored after the run."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest

from lr_jax.errors import Interrupted
from lr_jax.pipelines import hooks
from lr_jax.runfolder import checkpoint
from lr_jax.runfolder import transaction as rundir
from tests.tiny_run import spawn_train, tiny_overrides


class _State:
    params = {"w": np.zeros(3, np.float32)}
    step = np.array(7)


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupt_hook_stops_at_the_boundary_and_restores_handlers(signum, code, tmp_path):
    previous = signal.getsignal(signum)
    with hooks.InterruptStop(None, tmp_path) as stop:
        stop(_State(), np.zeros(7))  # no signal: nothing happens
        os.kill(os.getpid(), signum)
        with pytest.raises(Interrupted) as e:
            stop(_State(), np.zeros(7))
    assert e.value.exit_code == code
    assert f"{signal.Signals(signum).name}: training stopped at iteration 7" in str(e.value)
    assert "No checkpoint is kept: run the same command again to start over" in str(e.value)  # no resume advice
    assert signal.getsignal(signum) is previous


@pytest.mark.slow
@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_stops_the_cli_with_a_checkpoint(signum, code, tmp_path, tiny_data):
    run = tmp_path / "run"
    overrides = tiny_overrides(
        tiny_data, run, "train.num_iterations=100000000", "train.checkpoint_every=200000", "train.log_every=200000"
    )
    proc = spawn_train(*overrides)
    deadline = time.monotonic() + 120
    while not (run / rundir.LOCK_FILE).exists() and time.monotonic() < deadline:  # held once inputs are checked
        time.sleep(0.05)
    time.sleep(1.0)  # into the compiled loop
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=120)

    assert proc.returncode == code, err
    assert "Traceback" not in err and err.count("error:") == 1, err
    line = err.strip().splitlines()[-1]
    saved = checkpoint.list_checkpoints(run / "checkpoints")[-1]
    assert line.startswith(f"error: {signal.Signals(signum).name}: training stopped at iteration ")
    assert f"checkpoint {saved} written" in line and f"train.resume=true hydra.run.dir={run}" in line
    step = int(checkpoint.read(saved)["state.step"])
    assert 0 < step < 100000000 and step % 200000 == 0
    assert not (run / "metrics.json").exists() and not (run / rundir.LOCK_FILE).exists()
