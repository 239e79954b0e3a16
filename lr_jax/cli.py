"""`lr-jax`: one command for every entry point (`lr-jax train|sweep|study|predict|export|summarize|benchmark`).

Configuration stays Hydra's `key=value` overrides (`lr-jax train optim.learning_rate=0.01`); what is not
configuration is positional, as users expect: `lr-jax predict RUN_DIR IMAGE...` (shell globs work),
`lr-jax export RUN_DIR [format=onnx]`, `lr-jax summarize SWEEP_DIR`. The Hydra subcommands and `summarize`
and `benchmark` run the source checkout's `scripts/<name>.py` in this process's place (`os.execv`), so
`lr-jax train ...` and `python scripts/train.py ...` are one program: the same output, files and exit codes.
`predict` runs here. This module imports neither JAX nor Hydra: `lr-jax --help` answers at once.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

# name -> (script, what it does); the order of `lr-jax --help`
COMMANDS = {
    "train": ("train.py", "train one run (Hydra key=value overrides; -m for a multirun sweep)"),
    "sweep": ("sweep.py", "train a grid of learning rates x seeds in one vmapped call (key=value overrides)"),
    "study": ("study.py", "the lecture's studies: experiment=activation_study or experiment=scale_study"),
    "predict": ("predict.py", "classify images with a trained run: lr-jax predict RUN_DIR IMAGE..."),
    "export": ("export.py", "export a run as ONNX or StableHLO: lr-jax export RUN_DIR [format=onnx]"),
    "summarize": ("summarize.py", "summarize a finished sweep folder: lr-jax summarize SWEEP_DIR"),
    "benchmark": ("benchmark.py", "timing suites (--suite course|sweep|...; --help lists each suite's flags)"),
}
HYDRA_COMMANDS = ("train", "sweep", "study")  # everything after the name goes to Hydra as it is


def scripts_dir() -> Path:
    """The source checkout's scripts/ folder (an editable install: `pip install -e .`)."""
    return Path(__file__).resolve().parents[1] / "scripts"


def run_script(name: str, args: list[str]) -> None:
    """Replaces this process with `python scripts/<name>.py ARGS` (returns only on Windows, with its code)."""
    script = scripts_dir() / COMMANDS[name][0]
    if not script.is_file():
        _fail(
            f"{script}: not found. `lr-jax {name}` runs the scripts of a source checkout: install lr_jax from "
            "its repository with `pip install -e .`, or run the script with python from there."
        )
    argv = [sys.executable, str(script), *args]
    sys.stdout.flush()
    if os.name == "nt":  # no exec there: run it and pass its exit code on
        sys.exit(subprocess.call(argv))
    os.execv(sys.executable, argv)


def hydra_quote(value: str) -> str:
    """`value` as one quoted Hydra override value: any path, commas, brackets or spaces included."""
    # Hydra's rule: a run of backslashes is doubled only before a quote or at the end; a quote is escaped
    escaped = re.sub(r"(\\+)(?='|$)", lambda m: m.group(1) * 2, value).replace("'", "\\'")
    return f"'{escaped}'"


def _fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def predict(argv: list[str]) -> None:
    """`lr-jax predict RUN_DIR IMAGE...`: one line per image, as `scripts/predict.py` prints it."""
    parser = argparse.ArgumentParser(
        prog="lr-jax predict",
        description="Print P(positive class) and the predicted class of each image, with the run's own class "
        "names, threshold and preprocessing (a run of K > 2 classes: the top classes with P(class) for each). "
        "Writes no file.",
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run folder written by `lr-jax train`")
    parser.add_argument("images", metavar="IMAGE", nargs="+", help="image files (JPEG, PNG, ...; globs work)")
    parser.add_argument(
        "--top-k", type=int, default=None, help="a run of K > 2 classes: the classes printed (default min(K, 3))"
    )
    args = parser.parse_args(argv)
    from lr_jax.errors import exit_on_error  # light; JAX is imported only to predict

    with exit_on_error():  # `error: <message>` and exit code 2, as the scripts
        from lr_jax.serving.predict import describe, predict_images

        for p in predict_images(args.run_dir, args.images, top_k=args.top_k):
            print(describe(p))


def export(argv: list[str]) -> None:
    """`lr-jax export RUN_DIR [format=onnx|stablehlo]`: scripts/export.py with `run=RUN_DIR`."""
    parser = argparse.ArgumentParser(
        prog="lr-jax export",
        description="Write model.stablehlo (default) or model.onnx into the run folder, with <file>.json beside "
        "it: uint8 images (N, S, S, 3) in, P(positive class) out.",
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run folder written by `lr-jax train`")
    parser.add_argument(
        "overrides",
        metavar="format=stablehlo|onnx",
        nargs="*",
        help="conf/export.yaml's keys; format=onnx needs the `onnx` extra",
    )
    args = parser.parse_args(argv)
    run_script("export", [f"run={hydra_quote(args.run_dir)}", *args.overrides])


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        parser = argparse.ArgumentParser(
            prog="lr-jax",
            usage="lr-jax [-h] [--version] COMMAND [ARGS...]",
            description="Logistic regression as the smallest neural network, in JAX. "
            "`lr-jax COMMAND --help` shows what each command takes.",
            formatter_class=argparse.RawDescriptionHelpFormatter,
            epilog="commands:\n" + "\n".join(f"  {name:<10} {help}" for name, (_, help) in COMMANDS.items()),
        )
        parser.add_argument("--version", action="store_true", help="print lr_jax's version")
        parser.add_argument("command", choices=COMMANDS, metavar="COMMAND", nargs="?", help="one of the commands below")
        args = parser.parse_args(argv)
        if args.version:
            from lr_jax import __version__

            print(__version__)
            return
        parser.print_help()
        sys.exit(0 if argv else 2)
    name, rest = argv[0], argv[1:]
    if name == "predict":
        predict(rest)
    elif name == "export":
        export(rest)
    else:  # train, sweep, study (Hydra), summarize, benchmark: their scripts take the arguments as they are
        run_script(name, rest)


if __name__ == "__main__":
    main()
