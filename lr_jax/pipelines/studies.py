"""The lecture's two claims, measured: `activation_study` (ReLU trains faster than sigmoid) and `scale_study`
(larger networks keep gaining from more data where a small model flattens out).

Each point of a study is a vmapped grid over `sweep.seeds` (`sweep.train_grid`: one compiled call per
activation, or per model and training-set size); a study writes its rows (`<name>.csv`), its figure
(`<name>.png`), its summary table with the command, date, machine and versions (`<name>.json`, a results file
of lr_jax.runfolder.results: the docs render theirs from docs/results/) and returns the rows. `study.quick`
shrinks a study for CI (fewer iterations, seeds and sizes).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jax
import numpy as np

from lr_jax import artifacts, data
from lr_jax.config import Config
from lr_jax.errors import ConfigError
from lr_jax.models.logistic import predict
from lr_jax.pipelines import sizes, stages, sweep
from lr_jax.pipelines.spec import RunSpec, spec_from_config
from lr_jax.runfolder import plots, results

if TYPE_CHECKING:
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class StudyConfig:
    kind: str = "activation"  # "activation" or "scale"
    quick: bool = False  # the CI variant: iterations / QUICK_DIVISOR, two seeds, sizes <= QUICK_MAX_SIZE
    activations: tuple[str, ...] = ("sigmoid", "tanh", "relu")
    target_cost: float = 0.5  # activation study: iterations until the training cost first falls below this
    sizes: tuple[int, ...] = (100, 316, 1000, 3162, 10000, 31623, 100000)  # scale study: training-set sizes
    widths: tuple[int, ...] = (0, 4, 32, 128)  # scale study: one hidden layer of this width; 0 = logistic
    updates: int = 2000  # scale study: minibatch updates per training run, whatever the size
    batch_size: int = 128  # scale study: examples per update (all of them when fewer)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> StudyConfig:
        """The `study:` section of an experiment file, checked."""
        fields = {f.name: f.default for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - set(fields))
        if unknown:
            raise ConfigError(f"study: unknown key(s) {unknown}; known keys are {sorted(fields)}.")
        values: dict[str, Any] = {k: tuple(v) if isinstance(fields[k], tuple) else v for k, v in d.items()}
        study = cls(**values)
        if study.kind not in KINDS:
            raise ConfigError(f"study.kind={study.kind!r} is out of range: expected one of {list(KINDS)}.")
        if min(study.sizes) < 2 or min(study.widths) < 0:
            raise ConfigError(
                f"study.sizes={list(study.sizes)}, study.widths={list(study.widths)}: expected sizes >= 2, widths >= 0."
            )
        return study


KINDS = ("activation", "scale")
QUICK_DIVISOR = 10
QUICK_MAX_SIZE = 1000


def run_study(
    config: Config, study: StudyConfig, workdir: str | Path, command: str | None = None
) -> list[dict[str, Any]]:
    """Run `study` on `config`'s data and model; write `<kind>_study.csv`, `.png` and `.json` (its table,
    made by `command`: by default this process's command line) into `workdir`."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    if study.quick:
        config = _quick(config)
    spec = spec_from_config(config)  # the base model; a point that configures another builds its own
    with stages.runtime_scope(spec):
        if study.kind == "activation":
            rows, curves = activation_study(config, study, spec)
            subject = plots.run_subject(config.to_dict(), activation=False)
            plot_activation_study(workdir / "activation_study.png", curves, study.target_cost, subject)
        else:
            sizes = tuple(s for s in study.sizes if s <= QUICK_MAX_SIZE) if study.quick else study.sizes
            rows = scale_study(config, dataclasses.replace(study, sizes=sizes))
            subject = (
                f"{config.data.name}, {config.optim.name}, learning rate {plots.sig3(config.optim.learning_rate)}, "
                f"about {study.updates // QUICK_DIVISOR if study.quick else study.updates} updates of "
                f"{study.batch_size} examples"
            )
            plot_scale_study(workdir / "scale_study.png", rows, subject)
    artifacts.save_table_csv(workdir / f"{study.kind}_study.csv", rows)
    record = results.results(f"{study.kind} study", [study_table(study, rows)], **results.provenance(command=command))
    results.write(workdir / f"{study.kind}_study.json", record)
    return rows


def study_table(study: StudyConfig, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The study's summary as a results table: per activation, or accuracy per model (rows) and size (columns)."""
    if study.kind == "activation":
        reach = f"iterations_to_{study.target_cost}_median"
        columns = [
            "activation",
            "final training cost, mean (min-max over seeds)",
            f"iterations to cost {study.target_cost:g}, median",
            "seeds reaching it",
            "test accuracy, mean",
        ]
        cells = [
            [
                r["activation"],
                f"{r['final_cost_mean']:.3f} ({r['final_cost_min']:.3f}-{r['final_cost_max']:.3f})",
                "never" if math.isnan(r[reach]) else f"{r[reach]:.0f}",
                f"{r['reached_target']} / {r['seeds']}",
                f"{r['test_accuracy_mean']:.3f}",
            ]
            for r in rows
        ]
        return {"title": "", "columns": columns, "align": ["left"] + ["right"] * 4, "rows": cells}
    sizes = sorted({r["train_size"] for r in rows})
    names = list(dict.fromkeys(r["model"] for r in rows))
    accuracy = {(r["model"], r["train_size"]): r["test_accuracy_mean"] for r in rows}
    return {
        "title": f"test accuracy, mean of {rows[0]['seeds']} seeds",
        "columns": ["training examples", *(f"{s:,}" for s in sizes)],
        "align": ["left"] + ["right"] * len(sizes),
        "rows": [[name, *(f"{accuracy[name, s]:.3f}" for s in sizes)] for name in names],
    }


def _quick(config: Config) -> Config:
    train = dataclasses.replace(config.train, num_iterations=max(1, config.train.num_iterations // QUICK_DIVISOR))
    return dataclasses.replace(
        config, train=train, sweep=dataclasses.replace(config.sweep, seeds=config.sweep.seeds[:2])
    )


def seed_grid(config: Config) -> list[Config]:
    """One config per seed of `sweep.seeds`, at `optim.learning_rate`."""
    c = dataclasses.replace(
        config, sweep=dataclasses.replace(config.sweep, learning_rates=(config.optim.learning_rate,))
    )
    return sweep.grid_configs(c)


def test_accuracies(spec: RunSpec, params, x_ND, y_N) -> np.ndarray:
    """Test accuracy of each seed's parameters (stacked on axis 0), in one compiled call."""
    threshold, model = spec.model_config.threshold, spec.model
    predict_all = jax.jit(jax.vmap(lambda p: predict(p, x_ND, threshold, model)))
    return np.mean(np.asarray(predict_all(params)) == np.asarray(y_N)[None, :], axis=1)


def iterations_to(costs_T: np.ndarray, target: float) -> float:
    """The first iteration whose cost is below `target`; NaN if none is."""
    below = np.flatnonzero(costs_T < target)
    return float(below[0]) if below.size else math.nan


def activation_study(
    config: Config, study: StudyConfig, spec: RunSpec | None = None
) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    """The same network trained with each activation over the seeds: costs per iteration, a row per activation.
    `spec`: `config`'s run spec, if already built."""
    sizes.check_memory(config)  # before the data or any parameter is allocated
    spec = spec or spec_from_config(config)
    inputs = stages.load_inputs(spec)
    rows, curves = [], {}
    for activation in study.activations:
        c = dataclasses.replace(config, model=dataclasses.replace(config.model, activation=activation))
        log.info("activation %s: %d seeds x %d iterations", activation, len(c.sweep.seeds), c.train.num_iterations)
        points = sweep.grid_specs(seed_grid(c), like=spec)  # one model per activation
        result = sweep.train_grid(points, inputs.xs["train"], inputs.ys["train"])
        costs_ST = np.asarray(result.costs, np.float64)
        curves[activation] = costs_ST
        reach = [iterations_to(costs_T, study.target_cost) for costs_T in costs_ST]
        accuracy = test_accuracies(points[0], result.state.params, inputs.xs["test"], inputs.ys["test"])
        rows.append(
            {
                "activation": activation,
                "seeds": len(reach),
                "final_cost_mean": float(np.mean(costs_ST[:, -1])),
                "final_cost_min": float(np.min(costs_ST[:, -1])),
                "final_cost_max": float(np.max(costs_ST[:, -1])),
                f"iterations_to_{study.target_cost}_median": float(np.median(reach)),
                "reached_target": int(np.sum(~np.isnan(reach))),
                "test_accuracy_mean": float(np.mean(accuracy)),
            }
        )
    return rows, curves


def scale_study(config: Config, study: StudyConfig) -> list[dict[str, Any]]:
    """Test accuracy against training-set size per model width, each the mean over the seeds."""
    largest = max(study.sizes)
    cfg = dataclasses.replace(config, data=dataclasses.replace(config.data, num_examples=largest))
    splits = data.load(cfg.data)
    x_test, y_test = jax.device_put(stages.features(splits["test"], True, None)), splits["test"].y
    rows = []
    for width in study.widths:
        for size in study.sizes:
            c = _point_config(cfg, width, size, study)
            x = jax.device_put(splits["train"].x_raw[:size].reshape(size, -1))
            y = jax.device_put(splits["train"].y[:size].astype(np.int32))
            points = sweep.grid_specs(seed_grid(c))  # one model per width and size
            result = sweep.train_grid(points, x, y)
            accuracy = test_accuracies(points[0], result.state.params, x_test, y_test)
            final = np.asarray(result.costs)[:, -1]
            rows.append(_scale_row(width, size, c, accuracy, final))
            log.info("width %d, m=%d: test accuracy %.4f", width, size, np.mean(accuracy))
    return rows


def _point_config(config: Config, width: int, size: int, study: StudyConfig) -> Config:
    """Logistic regression (width 0) or one hidden layer; a fixed number of minibatch updates at any size."""
    batch = min(study.batch_size, size)
    updates = max(1, study.updates // QUICK_DIVISOR) if study.quick else study.updates
    epochs = max(1, round(updates * batch / size))
    model = dataclasses.replace(config.model, hidden=(width,) if width else (), init="he" if width else "zeros")
    train = dataclasses.replace(config.train, num_iterations=epochs, batch_size=batch if batch < size else None)
    return dataclasses.replace(config, model=model, train=train)


def _scale_row(width: int, size: int, c: Config, accuracy: np.ndarray, final: np.ndarray) -> dict[str, Any]:
    return {
        "model": MODEL_NAMES.get(width, f"mlp[{width}]"),
        "hidden": width,
        "train_size": size,
        "epochs": c.train.num_iterations,
        "seeds": len(accuracy),
        "test_accuracy_mean": float(np.mean(accuracy)),
        "test_accuracy_std": float(np.std(accuracy)),
        "final_train_cost_mean": float(np.mean(final)),
    }


MODEL_NAMES = {0: "logistic", 4: "small mlp[4]", 32: "medium mlp[32]", 128: "large mlp[128]"}


def activation_figure(curves: Mapping[str, np.ndarray], target: float, subject: str = "") -> Figure:
    """Cost against iterations per activation: the mean over seeds and the band from min to max; legend
    right of the axes."""
    ax = plots.figure_axes((8, 4))
    seeds = sorted({costs_ST.shape[0] for costs_ST in curves.values()})
    for name, costs_ST in curves.items():
        t = np.arange(costs_ST.shape[1])
        ax.plot(t, costs_ST.mean(axis=0), label=f"{name}: mean of {costs_ST.shape[0]} seeds")
        ax.fill_between(t, costs_ST.min(axis=0), costs_ST.max(axis=0), alpha=0.25, label=f"{name}: min to max")
    ax.axhline(target, color="k", ls=":", lw=1, label=f"target cost {plots.sig3(target)}")
    ax.set(xlabel="iterations", ylabel="training cost")
    band = f"lines: mean over {'/'.join(map(str, seeds))} seeds; bands: min to max over the seeds"
    ax.set_title(f"Hidden-unit activation: {subject}\n{band}", fontsize=plots.TITLE_SIZE)
    ax.grid(alpha=0.3)
    plots.legend_outside(ax, fontsize="small")
    return plots.root_figure(ax)


def plot_activation_study(path: Path, curves: Mapping[str, np.ndarray], target: float, subject: str = "") -> None:
    """`activation_figure`, as PNG."""
    plots.save_figure(path, activation_figure(curves, target, subject), dpi=100, bbox_inches="tight")


def scale_figure(rows: Sequence[Mapping[str, Any]], subject: str = "") -> Figure:
    """Test accuracy against training-set size (log scale), one curve per model, ± one std over seeds; legend
    right of the axes."""
    ax = plots.figure_axes((8, 4))
    for name in dict.fromkeys(r["model"] for r in rows):
        mine = [r for r in rows if r["model"] == name]
        sizes = [r["train_size"] for r in mine]
        mean, std = (np.array([r[k] for r in mine]) for k in ("test_accuracy_mean", "test_accuracy_std"))
        ax.errorbar(sizes, mean, yerr=std, marker="o", capsize=3, label=name)
    seeds = "/".join(map(str, sorted({r["seeds"] for r in rows})))
    ax.set(xscale="log", xlabel="training examples", ylabel="test accuracy")
    ax.set_title(
        f"Performance against data: {subject}\npoints: mean over {seeds} seeds; error bars: ± one standard "
        "deviation over the seeds",
        fontsize=plots.TITLE_SIZE,
    )
    ax.grid(alpha=0.3)
    plots.legend_outside(ax, fontsize="small")
    return plots.root_figure(ax)


def plot_scale_study(path: Path, rows: Sequence[Mapping[str, Any]], subject: str = "") -> None:
    """`scale_figure`, as PNG."""
    plots.save_figure(path, scale_figure(rows, subject), dpi=100, bbox_inches="tight")
