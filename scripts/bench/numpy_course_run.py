"""The course run as a plain NumPy float64 program, whole process: the baseline for `python scripts/train.py`.

Does what the lr_jax run does: read both HDF5 files, 2000 full-batch gradient steps from zeros at
learning rate 0.005 (the course's loop, lr_jax/reference/logistic.py), print the costs and accuracies, and write
metrics.json, costs.csv, learning_curve.png and params.npz into OUT_DIR.

    python scripts/bench/numpy_course_run.py DATA_DIR OUT_DIR [--no-plot] [--learning-rates A,B,...]

`--no-plot` skips learning_curve.png (and matplotlib); `--learning-rates` trains one run per rate in this
one process (the NumPy side of the latency suite's sweeps), printing and writing nothing per run.
"""

import json
import sys
import time
from pathlib import Path

import h5py
import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from lr_jax.reference import logistic as reference  # noqa: E402


def load(path, split):
    with h5py.File(path, "r") as f:
        x, y = np.asarray(f[f"{split}_set_x"]), np.asarray(f[f"{split}_set_y"]).ravel()
    return x.reshape(x.shape[0], -1).T / 255.0, y[None, :]


def save_plot(costs, out_dir):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    ax.plot(np.arange(len(costs)) * 100, costs)
    ax.set(xlabel="iterations", ylabel="cost", title="Learning rate = 0.005")
    fig.savefig(out_dir / "learning_curve.png", dpi=100, bbox_inches="tight")


def train_many(data_dir, learning_rates):
    """One 2000-step run per learning rate, the data read once."""
    x_train, y_train = load(Path(data_dir) / "train_catvnoncat.h5", "train")
    return [reference.model(x_train, y_train, learning_rate=lr) for lr in learning_rates]


def main(data_dir, out_dir, plot=True):
    t0 = time.perf_counter()
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    x_train, y_train = load(data_dir / "train_catvnoncat.h5", "train")
    x_test, y_test = load(data_dir / "test_catvnoncat.h5", "test")
    w, b, costs = reference.model(x_train, y_train)
    for i, c in enumerate(costs):
        print(f"Cost after iteration {i * 100}: {c:f}")
    acc = {
        s: float(np.mean(reference.predict(w, b, x) == y.ravel()))
        for s, x, y in (("train", x_train, y_train), ("test", x_test, y_test))
    }
    print(f"train accuracy: {100 * acc['train']:.2f} %\ntest accuracy: {100 * acc['test']:.2f} %")
    np.savez(out_dir / "params.npz", w=w.ravel(), b=np.float64(b))
    (out_dir / "costs.csv").write_text("iteration,cost\n" + "".join(f"{i * 100},{c!r}\n" for i, c in enumerate(costs)))
    if plot:
        save_plot(costs, out_dir)
    metrics = {
        "train_accuracy": acc["train"],
        "test_accuracy": acc["test"],
        "costs": costs,
        "run_time_s": time.perf_counter() - t0,
    }
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    if "--learning-rates" in sys.argv:
        train_many(sys.argv[1], [float(a) for a in sys.argv[sys.argv.index("--learning-rates") + 1].split(",")])
    else:
        main(*sys.argv[1:3], plot="--no-plot" not in sys.argv)
