"""Data parallelism over 4 host devices and over 2 processes (subprocesses) equals the single-device run (1e-6),
for logistic regression and for an MLP (12288 -> 4 -> 1, ReLU): the all-reduced gradient sums in another
order, a few float32 ulps per step; 100 small steps from the same start. Measured for the MLP: parameters
within 3e-8, costs within 6e-8 (1 ulp at 0.69)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from lr_jax import artifacts
from tests.conftest import REPO_ROOT

NUM_ITERATIONS = 100
# Each model as the CLI's overrides and as Config.from_dict's "model" section (conf/model/mlp.yaml's init).
MODELS = {
    "logistic": ([], {}),
    "mlp": (["model=mlp", "model.hidden=[4]"], {"name": "mlp", "hidden": [4], "init": "he"}),
}


@pytest.fixture(scope="module", params=list(MODELS))
def model(request) -> str:
    return request.param


def _course_config(data_dir, model: str) -> dict:
    return {
        "data": {"dir": str(data_dir), "download": False},
        "model": MODELS[model][1],
        "train": {"num_iterations": NUM_ITERATIONS, "print_cost": False, "progress": False},
    }


def _cli(data_dir, workdir, model: str, *overrides) -> list[str]:
    return [
        sys.executable,
        str(REPO_ROOT / "scripts" / "train.py"),
        f"data.dir={data_dir}",
        f"train.num_iterations={NUM_ITERATIONS}",
        "train.print_cost=false",
        f"hydra.run.dir={workdir}",
        *MODELS[model][0],
        *overrides,
    ]


@pytest.fixture(scope="module")
def single_device_run(data_dir, tmp_path_factory, model):
    """The reference: one process, one CPU device."""
    workdir = tmp_path_factory.mktemp(f"single-{model}")
    out = subprocess.run(_cli(data_dir, workdir, model), env=CPU, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads((workdir / "metrics.json").read_text()), artifacts.load_params(workdir / "params.npz")


@pytest.mark.slow
def test_four_host_devices_equal_one_device(data_dir, tmp_path, single_device_run, model):
    """209 examples on 4 devices (3 padding rows of weight 0), in a subprocess that has 4 CPU devices."""
    script = textwrap.dedent(f"""
        import json, jax
        from lr_jax import Config, train_and_evaluate, train
        from lr_jax.pipelines.spec import spec_from_config
        from lr_jax.pipelines.stages import initial_state
        from lr_jax import parallel
        from lr_jax import models
        import numpy as np
        cfg = Config.from_dict(json.loads({json.dumps(json.dumps(_course_config(data_dir, model)))}))
        metrics = train_and_evaluate(cfg, {str(tmp_path)!r})
        # the compiled step all-reduces the gradient and never gathers the pixels
        mesh = parallel.make_mesh()
        x, y, w = parallel.shard_batch(mesh, np.zeros((209, 12288), np.uint8), np.zeros(209, np.int32))
        state, hp = parallel.replicate(mesh, initial_state(spec_from_config(cfg), 12288))
        with jax.set_mesh(mesh):
            hlo = train.run_steps.lower(
                state, x, y, hp, weight_N=w, num_steps=2, model=models.build(cfg.model)
            ).compile().as_text()
        print(json.dumps({{"devices": metrics["devices"], "x_shards": len(x.addressable_shards),
                          "all_reduce": "all-reduce" in hlo, "all_gather": "all-gather" in hlo}}))
    """)
    env = {**CPU, "XLA_FLAGS": "--xla_force_host_platform_device_count=4"}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert len(report["devices"]) == 4 and report["x_shards"] == 4
    assert report["all_reduce"] and not report["all_gather"]
    _assert_same_run(tmp_path, *single_device_run)


@pytest.mark.slow
def test_two_processes_equal_one_process(data_dir, tmp_path, single_device_run, model):
    """2 processes joined by jax.distributed on 127.0.0.1 (gloo collectives), through the real CLI."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    procs = [
        subprocess.Popen(
            _cli(
                data_dir,
                tmp_path / f"p{i}",
                model,
                "parallel=distributed",
                f"parallel.coordinator_address=127.0.0.1:{port}",
                "parallel.num_processes=2",
                f"parallel.process_id={i}",
            ),
            env=CPU,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i in range(2)
    ]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs[0][-2000:] + outputs[1][-2000:]
    assert not (tmp_path / "p1" / "params.npz").exists()  # one process writes the run's files
    metrics = _assert_same_run(tmp_path / "p0", *single_device_run, whole_train_split=False)
    assert metrics["process_count"] == 2


CPU = {**os.environ, "JAX_PLATFORMS": "cpu"}  # host devices and gloo, also on a machine with a GPU


def _assert_same_run(workdir, single_metrics, single_params, whole_train_split: bool = True) -> dict:
    """Same parameters and costs; same metrics where the process evaluated the same rows."""
    params = artifacts.load_params(workdir / "params.npz")
    assert sorted(params) == sorted(single_params)
    for k in params:
        np.testing.assert_allclose(params[k], single_params[k], atol=1e-6, rtol=0, err_msg=k)
    metrics = json.loads((workdir / "metrics.json").read_text())
    np.testing.assert_allclose(metrics["costs"], single_metrics["costs"], atol=1e-6)
    if whole_train_split:  # several processes: process 0 evaluates its own block of the training rows
        assert metrics["train_accuracy"] == single_metrics["train_accuracy"]
    assert metrics["test_accuracy"] == single_metrics["test_accuracy"]
    return metrics
