"""Write the generated parts of the docs: `python scripts/gen_docs.py [--check]`.

docs/configuration-reference.md lists every config group, every file of it and every key with its value and
the comment beside it in conf/, and the defaults of the dataclass each group becomes (lr_jax.config.schema).
The benchmark and study tables are rendered from the results files the commands wrote (docs/results/*.json,
lr_jax.runfolder.results) into the pages, between `<!-- results: FILE ... -->` and `<!-- end results -->`.
`--check` writes nothing and exits 1 when a page differs from what conf/, the code and the results files give
(tests/project/test_gen_docs.py runs it), so neither is ever edited by hand.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from lr_jax.config import schema  # noqa: E402  (light: no JAX)
from lr_jax.errors import LrJaxError  # noqa: E402
from lr_jax.runfolder import results  # noqa: E402  (light: no JAX)

PAGE = REPO / "docs" / "configuration-reference.md"
CONF = REPO / "conf"
DOCS = REPO / "docs"
# a generated block: the results file it renders (relative to the repository), then the rendering
BLOCK = re.compile(
    r"(?P<open><!-- results: (?P<file>\S+) [^\n]*-->\n)(?P<body>.*?)(?P<close><!-- end results -->)", re.S
)
# group folder -> (what it sets, the dataclass it becomes or None)
GROUPS = {
    "data": ("where the examples come from and how they are prepared", schema.DataConfig),
    "model": (
        "the model: logistic regression or an MLP, its init, threshold, L2 and class weights",
        schema.ModelConfig,
    ),
    "optim": ("the optax optimizer, its hyperparameters and learning-rate schedule", schema.OptimConfig),
    "train": ("iterations, logging, seed, precision, checkpoints, stopping", schema.TrainConfig),
    "sweep": ("the learning rates x seeds of `lr-jax sweep`", schema.SweepConfig),
    "parallel": ("devices, data parallelism and several processes", schema.ParallelConfig),
    "logger": ("experiment trackers: CSV, TensorBoard, MLflow", schema.LoggerConfig),
    "experiment": ("diff files that change a few keys (`# @package _global_`)", None),
    "hparams_search": ("hyperparameter searches (Hydra's Optuna sweeper)", None),
    "hydra/launcher": ("how `-m` multiruns launch their jobs", None),
    "hydra/job_logging": ("logging setups the entry points use", None),
    "hydra/help": ("the `--help` text of predict and export (their own keys, not the training groups)", None),
}
KEY = re.compile(r"^(?P<indent> *)(?P<dash>- )?(?P<key>[^\s#:][^:#]*?):(?P<value>[^#]*?)\s*(?:#\s?(?P<comment>.*))?$")
ITEM = re.compile(r"^(?P<indent> *)- (?P<value>[^#]*?)\s*(?:#\s?(?P<comment>.*))?$")


def parse(path: Path) -> tuple[str, list[tuple[str, str, str]]]:
    """A YAML file's header comment and its (dotted key, value, comment) rows, in file order."""
    lines = path.read_text().splitlines()
    header = []
    for line in lines:
        if not line.startswith("#"):
            break
        if not line.startswith("# @package"):
            header.append(line[1:].strip())
    rows: list[list[str]] = []
    stack: list[tuple[int, str]] = []  # (indent, key) of the open mappings
    for line in lines[len(header) :]:
        if not line.strip() or line.lstrip().startswith("#"):
            if line.lstrip().startswith("#") and line.startswith(" ") and rows:  # a comment's continuation
                rows[-1][2] = f"{rows[-1][2]} {line.strip()[1:].strip()}".strip()
            continue
        if m := KEY.match(line):
            indent = len(m["indent"]) + (2 if m["dash"] else 0)
            while stack and stack[-1][0] >= indent:
                stack.pop()
            path_key = ".".join([k for _, k in stack] + [m["key"].strip()])
            rows.append([path_key, m["value"].strip(), (m["comment"] or "").strip()])
            if not m["value"].strip():
                stack.append((indent, m["key"].strip()))
        elif m := ITEM.match(line):
            parent = ".".join(k for _, k in stack)
            rows.append([f"{parent}[]", m["value"].strip(), (m["comment"] or "").strip()])
    return " ".join(header), [tuple(r) for r in rows]


def cell(text: str) -> str:
    return text.replace("|", "\\|")


def file_section(path: Path, title: str) -> list[str]:
    header, rows = parse(path)
    out = [f"### `{title}`", "", f"`{path.relative_to(REPO)}`" + (f": {header}" if header else ""), ""]
    rows = [r for r in rows if r[1] or r[2]]  # a mapping's own line only when it is commented
    if rows:
        out += ["| key | value | meaning |", "| --- | --- | --- |"]
        out += [f"| `{cell(k)}` | {f'`{cell(v)}`' if v else ''} | {cell(c)} |" for k, v, c in rows]
        out.append("")
    return out


def dataclass_section(cls) -> list[str]:
    out = [
        f"Defaults of `{cls.__module__}.{cls.__name__}` (a key a file leaves out; the library's own defaults):",
        "",
        "| field | type | default |",
        "| --- | --- | --- |",
    ]
    for field in dataclasses.fields(cls):
        if field.name in schema.DERIVED:
            continue
        default = field.default if field.default is not dataclasses.MISSING else field.default_factory()
        out.append(f"| `{field.name}` | `{cell(str(field.type))}` | `{cell(repr(default))}` |")
    return [*out, ""]


def defaults() -> dict[str, str]:
    """group -> the file conf/config.yaml's defaults list picks (null for an optional group)."""
    return {k.removeprefix("defaults."): v for k, v, _ in parse(CONF / "config.yaml")[1] if k.startswith("defaults.")}


def overview() -> list[str]:
    chosen = defaults()
    out = ["| group | files (`group=file`; the default in bold) | what it sets |", "| --- | --- | --- |"]
    for group, (what, _) in GROUPS.items():
        files = [p.stem for p in sorted((CONF / group).glob("*.yaml"))]
        names = ", ".join(f"**`{f}`**" if chosen.get(group) == f else f"`{f}`" for f in files)
        out.append(f"| [`{group}`](#{group.replace('/', '')}) | {names} | {what} |")
    return [*out, ""]


def render() -> str:
    out = [
        "# Configuration reference",
        "",
        "<!-- Generated by scripts/gen_docs.py from conf/ and lr_jax/config/schema.py: do not edit; run",
        "     `python scripts/gen_docs.py` after changing either (tests/project/test_gen_docs.py checks it). -->",
        "",
        "Every config group, every file in it (`group=file` on the command line) and every key, with the value",
        "the file sets and the comment beside it. [Configuration](configuration.md) explains how they fit.",
        "",
        "## Groups",
        "",
        *overview(),
        "## The run's config",
        "",
        *file_section(CONF / "config.yaml", "config.yaml"),
    ]
    for group, (what, cls) in GROUPS.items():
        out += [f"## `{group}`", "", f"{what[0].upper()}{what[1:]}.", ""]
        if cls is not None:
            out += dataclass_section(cls)
        for path in sorted((CONF / group).glob("*.yaml")):
            out += file_section(path, f"{group}={path.stem}")
    out += ["## Other entry points", ""]
    for name, command in (("predict", "lr-jax predict"), ("export", "lr-jax export")):
        out += file_section(CONF / f"{name}.yaml", f"{name}.yaml ({command})")
    return "\n".join(out).rstrip() + "\n"


def render_results(text: str) -> str:
    """`text` with each generated block's body rendered anew from its results file."""

    def block(m: re.Match) -> str:
        body = results.render_markdown(results.read(REPO / m["file"]))
        return f"{m['open']}\n{body}\n{m['close']}"

    return BLOCK.sub(block, text)


def pages() -> dict[Path, str]:
    """Every generated page and page with a generated block -> its text as it should be."""
    out = {PAGE: render()}
    for page in sorted(DOCS.rglob("*.md")):
        if page != PAGE and BLOCK.search(text := page.read_text()):
            out[page] = render_results(text)
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if a page is not current; write nothing")
    args = parser.parse_args(argv)
    try:
        rendered = pages()
    except LrJaxError as e:  # a results file that cannot be read: one line naming it
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    stale = [page for page, text in rendered.items() if not page.is_file() or page.read_text() != text]
    if args.check:
        for page in stale:
            print(f"error: {page.relative_to(REPO)} is stale: run python scripts/gen_docs.py", file=sys.stderr)
        if stale:
            sys.exit(1)
        return
    for page, text in rendered.items():
        if page in stale:
            page.parent.mkdir(exist_ok=True)
            page.write_text(text)
            print(f"wrote {page.relative_to(REPO)}")


if __name__ == "__main__":
    main()
