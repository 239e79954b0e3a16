"""A results file: the tables a benchmark suite or a study printed, with what made them.

One JSON object per file (`FORMAT` 1)::

    {"format": 1, "name": "course", "command": "lr-jax benchmark --suite course --results course.json",
     "date": "2026-11-29 00:06 UTC", "machine": "x86_64, 2 CPUs (AMD EPYC), 32 MiB L3, Linux-6.8",
     "versions": {"python": "3.11.14", "jax": "0.10.2", "blas": "scipy-openblas 0.3.31", ...},
     "source": "how the figures were obtained (written by the command, or converted from an older page)",
     "tables": [{"title": "...", "columns": ["m", "time (s)"], "align": ["left", "right"],
                 "rows": [["25,000", "46.4"]]}],
     "text": ["lines the command printed that are not tables"],
     "notes": ["paragraphs of markdown read from the figures by a person, shown after the tables"]}

The cells are kept as the command printed them (its rounding and units). `render_markdown` turns a file into
the markdown that scripts/gen_docs.py puts between a page's generated-block markers, so a page's table always
matches a file a command wrote.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import re
import shlex
import sys
from collections.abc import Iterable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from lr_jax import artifacts
from lr_jax.errors import ConfigError

FORMAT = 1
WRITTEN = "written by the command named here"  # the source of a file a command wrote (not shown in the docs)
PACKAGES = ("lr_jax", "jax", "jaxlib", "optax", "numpy", "scikit-learn")
ALIGN = {"---:": "right", ":---:": "center", "---": "left"}


def provenance(argv: Sequence[str] | None = None, command: str | None = None) -> dict[str, Any]:
    """The command (as given, or `python <argv>`), the UTC date, the machine and the library versions."""
    argv = list(sys.argv if argv is None else argv)
    return {
        "command": command or shlex.join(["python", *argv]),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "versions": versions(),
    }


def machine() -> str:
    """The CPU (model, count, last-level cache) and OS; the accelerator when JAX is loaded and has one."""
    parts = [platform.machine(), f"{os.cpu_count()} CPUs{_cpu_model()}"]
    l3 = Path("/sys/devices/system/cpu/cpu0/cache/index3/size")
    if l3.is_file():
        size = l3.read_text().strip()
        parts.append(f"{int(size[:-1]) // 1024} MiB L3" if size.endswith("K") else f"{size} L3")
    parts.append(f"{platform.system()} {platform.release().split('-')[0]}")
    if "jax" in sys.modules:  # never imported here: a results file of a NumPy-only command names no device
        devices = sys.modules["jax"].devices()
        parts.append(f"JAX on {devices[0].platform} ({len(devices)} x {devices[0].device_kind})")
    return ", ".join(parts)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f" ({line.partition(':')[2].strip()})"
    except OSError:
        pass
    return ""


def versions() -> dict[str, str | None]:
    """Python's and each library's version (None when not installed), and NumPy's BLAS."""
    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    found["blas"] = _blas()
    return found


def _blas() -> str | None:
    try:
        import numpy as np

        blas = np.show_config("dicts")["Build Dependencies"]["blas"]
        return f"{blas['name']} {blas['version']}"
    except Exception:  # an older NumPy, or a build that does not say: the file just lacks the line
        return None


def parse_output(text: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The markdown tables in a command's printed `text` (each titled by the `## ` heading above it, if
    any) and its other non-empty lines, in order."""
    tables: list[dict[str, Any]] = []
    other: list[str] = []
    title = ""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].rstrip()
        if line.startswith("|") and i + 1 < len(lines) and set(lines[i + 1].strip()) <= set("|-: "):
            block = []
            while i < len(lines) and lines[i].startswith("|"):
                block.append(_cells(lines[i]))
                i += 1
            align = [ALIGN.get(c.replace(" ", ""), "left") for c in block[1]]
            tables.append({"title": title, "columns": block[0], "align": align, "rows": block[2:]})
            title = ""
            continue
        if line.startswith("## "):
            title = line[3:].strip()
        elif line.strip():
            other.append(line)
        i += 1
    return tables, other


def _cells(line: str) -> list[str]:
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def results(
    name: str,
    tables: Iterable[Mapping[str, Any]],
    *,
    text: Sequence[str] = (),
    notes: Sequence[str] = (),
    source: str = "",
    **prov: Any,
) -> dict[str, Any]:
    """A results object: `name`, the provenance (`provenance()` unless given), the tables, text and notes."""
    out = {"format": FORMAT, "name": name, **(prov or provenance())}
    out["source"] = source or WRITTEN
    return {**out, "tables": [dict(t) for t in tables], "text": list(text), "notes": list(notes)}


def write(path: str | os.PathLike, record: Mapping[str, Any]) -> None:
    """Write `record` as JSON, atomically (its folder is created)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    artifacts.save_json(path, dict(record))


def read(path: str | os.PathLike) -> dict[str, Any]:
    """A results file, checked to be one: ConfigError naming the file otherwise."""
    try:
        record = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise ConfigError(f"{path}: cannot read this results file ({e}). Write it again with its command.") from e
    missing = [k for k in ("format", "command", "date", "machine", "versions", "tables") if k not in record]
    if missing or record["format"] != FORMAT:
        raise ConfigError(
            f"{path}: not a results file of format {FORMAT} (missing {missing}, format {record.get('format')!r}). "
            "Write it again with the command that made it."
        )
    return record


def render_table(table: Mapping[str, Any]) -> list[str]:
    """A table as markdown lines (its title in bold above it)."""
    marks = {"left": "---", "right": "---:", "center": ":---:"}
    out = [f"**{table['title']}**", ""] if table.get("title") else []
    out.append(_row(table["columns"]))
    out.append(_row([marks[a] for a in table["align"]]))
    out += [_row(row) for row in table["rows"]]
    return [*out, ""]


def _row(cells: Sequence[Any]) -> str:
    """`| a | b |`, an empty cell as `| |` (as the suites print it)."""
    return "|" + "|".join(f" {_escape(str(c))} " if str(c) else " " for c in cells) + "|"


def _escape(cell: str) -> str:
    return cell.replace("|", "\\|")


def render_markdown(record: Mapping[str, Any]) -> str:
    """The markdown of a results file: the command, date, machine and versions, then the tables, the printed
    text and the notes."""
    v = record["versions"]
    order = [*PACKAGES, "blas", *sorted(set(v) - {*PACKAGES, "blas"})]
    libs = ", ".join(f"{k} {v[k]}" for k in order if v.get(k) and k != "python")
    out = [
        f"`{record['command']}`, {record['date']}, {record['machine']}; Python {v.get('python')}, {libs}.",
        "",
    ]
    if record.get("source", WRITTEN) != WRITTEN:
        out += [f"*{record['source']}*", ""]
    for table in record["tables"]:
        out += render_table(table)
    if record.get("text"):
        out += ["```text", *record["text"], "```", ""]
    for note in record.get("notes", ()):
        out += [note, ""]
    return "\n".join(out).rstrip() + "\n"
