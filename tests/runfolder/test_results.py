"""lr_jax/runfolder/results.py: a command's printed tables kept with its provenance, rendered back unchanged."""

from __future__ import annotations

import pytest

from lr_jax.errors import ConfigError
from lr_jax.runfolder import results

PRINTED = """\
warming up

## Training loop, 20 iterations (median of 1)

| implementation | time (s) | ratio |
| --- | ---: | ---: |
| lr_jax `lax.scan` | 0.010 | 2.0x |
| a \\| b | 0.020 | 1.0x |

target met: yes
"""


def test_printed_tables_are_parsed_with_their_titles_and_the_other_lines_kept():
    tables, text = results.parse_output(PRINTED)
    assert text == ["warming up", "target met: yes"]
    (table,) = tables
    assert table["title"] == "Training loop, 20 iterations (median of 1)"
    assert table["columns"] == ["implementation", "time (s)", "ratio"]
    assert table["align"] == ["left", "right", "right"]
    assert table["rows"] == [["lr_jax `lax.scan`", "0.010", "2.0x"], ["a | b", "0.020", "1.0x"]]


def test_a_written_file_renders_the_printed_table_unchanged(tmp_path):
    tables, text = results.parse_output(PRINTED)
    path = tmp_path / "sub" / "r.json"
    results.write(path, results.results("bench", tables, text=text, **results.provenance(command="lr-jax x")))
    record = results.read(path)
    assert record["command"] == "lr-jax x" and record["format"] == results.FORMAT
    assert record["versions"]["python"] and record["versions"]["numpy"] and "CPUs" in record["machine"]
    markdown = results.render_markdown(record)
    assert [line for line in markdown.splitlines() if line.startswith("|")] == [
        line for line in PRINTED.splitlines() if line.startswith("|")
    ]
    assert "```text\nwarming up\ntarget met: yes\n```" in markdown and results.WRITTEN not in markdown


@pytest.mark.parametrize("content", ["{not json", '{"format": 1}', '{"format": 2, "command": "", "date": ""}'])
def test_a_file_that_is_no_results_file_is_one_error_naming_it(tmp_path, content):
    path = tmp_path / "r.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=r"r\.json: .*(again|Write it again)"):
        results.read(path)
