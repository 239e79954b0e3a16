"""Overrides that Hydra or its Optuna sweeper would answer with a traceback, refused in one `error:` line (exit 2)
before Hydra parses them: `check_command_line()`, called by the scripts of conf/config.yaml (train, sweep, study).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
from pathlib import Path

CONF = Path(__file__).resolve().parent.parent / "conf"
REQUIRED_GROUPS = ("data", "model", "optim", "train", "sweep", "parallel", "logger")  # conf/config.yaml's defaults


def check_command_line(argv: list[str] | None = None) -> None:
    """Refuse in one `error:` line (exit 2) the overrides that Hydra or its Optuna sweeper would answer with a
    traceback: a required config group set to null, `hydra.sweeper.n_trials` below 1, an Optuna storage that
    is not a database or cannot be written."""
    for arg in (sys.argv if argv is None else argv)[1:]:
        key, _, value = arg.partition("=")
        problem = _problem(key.lstrip("+"), value)
        if problem:
            print(f"error: {arg}: {problem}", file=sys.stderr)
            sys.exit(2)


def _problem(key: str, value: str) -> str | None:
    group = key.lstrip("~")
    if group in REQUIRED_GROUPS and (key.startswith("~") or value in ("null", "")):
        options = sorted(p.stem for p in (CONF / group).glob("*.yaml"))
        return f"the {group} group is required (conf/config.yaml's defaults). Choose one of {options}."
    if key == "hydra.sweeper.n_trials" and not (value.isdigit() and int(value) >= 1):
        return "expected an integer >= 1: the number of trials the search runs."
    if key == "hydra.sweeper.storage" and value.startswith("sqlite:///"):
        return _sqlite_problem(Path(value[len("sqlite:///") :]))
    return None


def _sqlite_problem(path: Path) -> str | None:
    """What keeps Optuna from keeping its study in the SQLite file `path` (None: nothing)."""
    folder = path.parent if str(path.parent) else Path(".")
    if not path.exists():
        if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
            return f"{folder} is not a folder this process can write, so the study cannot be stored there."
        return None
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            db.execute("PRAGMA schema_version").fetchone()
    except sqlite3.Error as e:
        return f"{path} is not an SQLite database Optuna can use ({e}). Pass another file, or move this one away."
    if not os.access(path, os.W_OK) or not os.access(folder, os.W_OK | os.X_OK):
        return f"{path} is read-only here (SQLite also writes a journal beside it); Optuna writes every trial there."
    return None
