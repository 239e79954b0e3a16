"""Callbacks for `train.fit`'s `on_chunk`: each does one job between compiled chunks, on the host.

`fit` calls every hook as `hook(state, costs_of_chunk)` after each chunk, in order; a hook that raises
stops the run. The guard comes first, so a diverged state is never checkpointed.
"""

from __future__ import annotations

import logging
import math
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import jax
import numpy as np

from lr_jax import errors, train
from lr_jax.errors import DivergenceError, Interrupted
from lr_jax.runfolder import checkpoint
from lr_jax.runfolder.report import print_costs

log = logging.getLogger(__name__)
PROGRESS_SECONDS = 5.0  # off a terminal, ProgressLog writes a line at most this often


class DivergenceGuard:
    """Stops the run (DivergenceError) once a cost or a parameter is NaN or infinite."""

    def __init__(self, checkpoint_folder: Path | None = None, advice: Callable[[bool], str] | None = None):
        self.checkpoint_folder = checkpoint_folder  # named in the message: where the last finite state is
        self.advice = advice  # advice(at_start) -> what to change; at_start: iteration 0's cost is not finite

    def __call__(self, state, costs_n) -> None:
        costs_n = np.asarray(costs_n)
        params = jax.device_get(state.params)
        if np.isfinite(costs_n).all() and all(np.isfinite(leaf).all() for leaf in jax.tree.leaves(params)):
            return
        stop = train.steps_done(state)
        kept = checkpoint.newest_finite(self.checkpoint_folder) if self.checkpoint_folder else None
        where = f"the last finite checkpoint is {kept}" if kept else "no finite checkpoint is kept"
        first = stop - costs_n.shape[-1]
        at_start = first == 0 and costs_n.shape[-1] > 0 and not np.isfinite(costs_n[..., 0]).all()
        advice = self.advice(at_start) if self.advice else "Lower optim.learning_rate (or keep data.scale=true)."
        raise DivergenceError(
            f"training diverged: the parameters or the cost became NaN or infinite between iterations "
            f"{first} and {stop}; the run stopped there and {where}. {advice}"
        )


class CheckpointWriter:
    """Writes a checkpoint whenever the step is a multiple of `every` or equals `num_steps`.

    A checkpoint holds every cost since iteration 0, so the writer keeps the costs of a restored
    checkpoint (`past_costs`) and of each chunk since.
    """

    def __init__(
        self, folder: Path, config: Mapping[str, Any], *, every: int, keep: int, num_steps: int, past_costs=()
    ):
        self.folder, self.config, self.every, self.keep, self.num_steps = folder, config, every, keep, num_steps
        self.costs = [np.asarray(past_costs)]

    def __call__(self, state, costs_n) -> None:
        self.costs.append(np.asarray(costs_n))
        step = train.steps_done(state)
        if self.every and (step % self.every == 0 or step == self.num_steps):
            self.write(state)

    def write(self, state) -> Path:
        """A checkpoint of `state` now (its costs: every chunk passed to the writer so far)."""
        costs = np.concatenate(self.costs, axis=-1)  # a grid's costs: one row per grid point
        return checkpoint.save(self.folder, state, costs, self.config, max(self.keep, 1))


class InterruptStop:
    """On SIGINT or SIGTERM, stops the run at the next chunk boundary with a checkpoint and `Interrupted`.

    The handlers are installed by `with InterruptStop(...)` (main thread only) and the previous ones
    restored after; a second signal finds the previous handler again (Ctrl-C twice: the usual
    KeyboardInterrupt). Placed after the CheckpointWriter, whose costs it saves.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)
    received: int | None  # the signal caught, if any
    previous: dict[int, Any]  # {signal: its handler before `with`}

    def __init__(self, writer: CheckpointWriter | None, run_dir: Path):
        self.writer, self.run_dir, self.received, self.previous = writer, run_dir, None, {}

    def _handle(self, signum, frame) -> None:
        self.received = signum
        signal.signal(signum, self.previous.get(signum, signal.SIG_DFL))

    def __enter__(self) -> InterruptStop:
        errors.check_signals()  # one received before (start-up) and not yet raised
        if threading.current_thread() is threading.main_thread():
            self.previous = {s: signal.signal(s, self._handle) for s in self.SIGNALS}
        return self

    def __exit__(self, *exc) -> None:
        for s, handler in self.previous.items():
            signal.signal(s, handler)
        self.previous = {}

    def __call__(self, state, costs_n) -> None:
        if self.received is None:
            return
        name = signal.Signals(self.received).name
        saved = f"checkpoint {self.writer.write(state)} written" if self.writer else "no checkpoint written"
        step = train.steps_done(state)
        if self.writer or checkpoint.list_checkpoints(self.run_dir / checkpoint.FOLDER):
            then = f"To continue, run the same command with train.resume=true hydra.run.dir={self.run_dir}"
        else:
            then = "No checkpoint is kept: run the same command again to start over"
        raise Interrupted(
            f"{name}: training stopped at iteration {step}{last_cost(costs_n, step)}, {saved}. {then}",
            self.received,
        )


def describe_cost(costs_n) -> str:
    """The last cost of a chunk: `0.123456`, or for a grid (costs f[C, n]) `0.1 to 0.5 over C configs`."""
    last = np.asarray(costs_n)[..., -1]
    if last.ndim == 0:
        return f"{float(last):.6f}"
    return f"{np.nanmin(last):.6f} to {np.nanmax(last):.6f} over {last.size} configs"


def last_cost(costs_n, step: int) -> str:
    """` (cost 0.123456 at iteration 41)`: the cost before the chunk's last iteration; "" for an empty chunk."""
    if np.shape(costs_n)[-1] == 0:
        return ""
    return f" (cost {describe_cost(costs_n)} at iteration {step - 1})"


class CostPrinter:
    """The course's `Cost after iteration N: J` lines of each chunk, logged as the chunk finishes.

    The lines of a resumed run's past costs (`past_costs`) come first, at `start`: a run prints the lines
    it would have printed uninterrupted, each as soon as its chunk is done (`report.print_costs`).
    """

    def __init__(self, every: int, past_costs=()):
        self.every, self.past_costs = every, np.asarray(past_costs)

    def start(self, state) -> None:
        self(None, self.past_costs, end=len(self.past_costs))

    def __call__(self, state, costs_n, *, end: int | None = None) -> None:
        end = train.steps_done(state) if end is None else end
        start = end - len(costs_n)
        first = -(-start // self.every) * self.every
        print_costs(range(first, end, self.every), np.asarray(costs_n)[first - start :: self.every])


class ProgressLog:
    """Where the bar is not shown (output to a file, a pipe, a batch job's log): a plain line at most every
    `every_s` seconds, `iteration 12000/20000, cost 0.123456, 3.1 s`, the seconds counted from `start`."""

    def __init__(self, num_steps: int, every_s: float = PROGRESS_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.num_steps, self.every_s, self.clock = num_steps, every_s, clock
        self.started = self.shown = clock()

    def start(self, state) -> None:
        self.started = self.shown = self.clock()

    def __call__(self, state, costs_n) -> None:
        now = self.clock()
        if now - self.shown < self.every_s or np.shape(costs_n)[-1] == 0:
            return
        self.shown = now
        step = train.steps_done(state)
        log.info("iteration %i/%i, cost %s, %.1f s", step, self.num_steps, describe_cost(costs_n), now - self.started)


class ProgressBar:
    """A tqdm bar: iterations, the latest cost, examples/s. `with ProgressBar(...) as bar: fit(on_chunk=[bar])`.

    Shown on a terminal only (tqdm's `disable=None`), so logs and CI output stay clean; silent when disabled.
    """

    def __init__(self, num_steps: int, examples_per_step: int, enabled: bool = True, file=None):
        from tqdm.auto import tqdm  # imported by the runs that show a bar, not by every `import lr_jax`

        self.examples_per_step = examples_per_step
        self.bar = tqdm(total=num_steps, unit="it", desc="train", file=file, disable=None if enabled else True)

    @property
    def visible(self) -> bool:
        return not self.bar.disable

    def __call__(self, state, costs_n) -> None:
        """Advance by one chunk; show the last cost of the chunk and the throughput so far."""
        if self.bar.disable:
            return
        self.bar.update(len(costs_n))
        rate = self.bar.format_dict.get("rate") or 0.0  # tqdm's smoothed iterations per second
        self.bar.set_postfix(cost=f"{float(costs_n[-1]):.6f}", examples_per_s=f"{rate * self.examples_per_step:.3g}")

    def __enter__(self) -> ProgressBar:
        if self.visible and any(_is_console(h) for h in logging.root.handlers):
            from tqdm.contrib.logging import logging_redirect_tqdm

            # Lines logged to the console while the bar shows (the cost lines) go through tqdm.write, which
            # clears the bar, prints the line and draws the bar again below it.
            self.redirect = logging_redirect_tqdm()
            self.redirect.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.bar.close()
        if getattr(self, "redirect", None) is not None:
            self.redirect.__exit__(*exc)
            self.redirect = None


def _is_console(handler: logging.Handler) -> bool:
    return isinstance(handler, logging.StreamHandler) and handler.stream in (sys.stdout, sys.stderr)


class CostReporter:
    """Hands the train cost at every multiple of `every` in a chunk to `report(step, {"train_cost": J})` (a
    logger): J before that iteration, as costs.csv records it."""

    def __init__(self, report: Callable[[int, dict[str, float]], None], every: int):
        self.report, self.every = report, every

    def __call__(self, state, costs_n) -> None:
        end = int(state.step)
        start = end - len(costs_n)
        for step in range(-(-start // self.every) * self.every, end, self.every):
            self.report(step, {"train_cost": float(costs_n[step - start])})


class ValidationTracker:
    """The validation split measured every `every` iterations (at the start too); with `patience`, early stopping.

    `start(state)` measures the starting state; each call after a chunk that ends on a multiple of `every`
    (or at `num_steps`) measures the new one, hands `{"val_cost": ..., "val_accuracy": ...}` to each of
    `report` (`report(step, values)`: the loggers) and remembers the best parameters by `metric` (a
    `val_<metric>`, better when larger for direction "max"). With `patience`, `patience` measurements in a
    row without improvement raise `train.StopTraining`: place it last, after the checkpoint writer.
    Measurements before iteration `warmup` are made and reported but can be neither the best nor count
    to patience (the last measurement, at `num_steps`, always can); an improvement must exceed `min_delta`.
    """

    def __init__(
        self,
        evaluate_params: Callable[[Any], dict[str, Any]],
        *,
        every: int,
        num_steps: int,
        metric: str,
        direction: str,
        patience: int = 0,
        report: Sequence[Callable[[int, dict[str, float]], None]] = (),
        warmup: int = 0,
        min_delta: float = 0.0,
    ):
        self.evaluate_params, self.every, self.num_steps = evaluate_params, every, num_steps
        self.warmup, self.min_delta = min(warmup, num_steps), min_delta
        self.metric, self.direction, self.patience, self.report = metric, direction, patience, list(report)
        self.history: list[tuple[int, dict[str, float]]] = []
        self.best_step: int | None
        self.best_params: Any
        self.best_step, self.best_value, self.best_params = None, math.nan, None
        self.stopped_at: int | None
        self.waited, self.stopped_at = 0, None

    def start(self, state) -> None:
        self.measure(state)

    def __call__(self, state, costs_n) -> None:
        step = int(state.step)
        if (step % self.every == 0 or step == self.num_steps) and self.measure(state):
            self.stopped_at = step
            raise train.StopTraining(f"{self.metric} did not improve since iteration {self.best_step}")

    def measure(self, state) -> bool:
        """Evaluate `state.params` on the validation split; True once `patience` measurements did not improve."""
        step = int(state.step)
        if self.history and self.history[-1][0] == step:
            return False
        params = jax.device_get(state.params)
        scores = {f"val_{k}": float(v) for k, v in self.evaluate_params(params).items() if np.isscalar(v)}  # type: ignore[arg-type]  # real scalars
        self.history.append((step, scores))
        for report in self.report:
            report(step, scores)
        if step < self.warmup:
            return False
        if self._improves(scores[self.metric]):
            self.best_step, self.best_value, self.best_params, self.waited = step, scores[self.metric], params, 0
            return False
        self.waited += 1
        return bool(self.patience) and self.waited >= self.patience

    def _improves(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        if not math.isfinite(self.best_value):
            return True
        if self.direction == "max":
            return value > self.best_value + self.min_delta
        return value < self.best_value - self.min_delta

    def curve(self) -> dict[str, list]:
        """{"iteration": [...], "val_cost": [...], "val_accuracy": [...], ...}: every measurement so far."""
        names = list(self.history[0][1]) if self.history else []
        return {"iteration": [s for s, _ in self.history], **{n: [v[n] for _, v in self.history] for n in names}}

    def record(self) -> dict[str, Any]:
        """metrics.json's `early_stopping`: the metric, the best iteration and its value, where the run stopped."""
        return {
            "enabled": bool(self.patience),
            "metric": self.metric,
            "direction": self.direction,
            "patience": self.patience or None,
            "best_iteration": self.best_step,
            "best_value": self.best_value,
            "stopped_at": self.stopped_at,
        }
