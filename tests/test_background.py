"""The drawing process: calls run in a second Python, in order; results, kept objects and errors come back;
a dead process or LR_JAX_DRAWING_PROCESS=0 draws here instead, with the same results."""

from __future__ import annotations

import logging
import os

import pytest

from lr_jax import background


@pytest.fixture
def drawer():
    background.stop_drawing()
    yield background
    background.stop_drawing()


def test_a_call_runs_in_another_process_and_its_result_comes_back(drawer):
    assert drawer.call_in_drawing_process(os.getpid) != os.getpid()
    assert drawer.call_in_drawing_process(sorted, [3, 1, 2], reverse=True) == [3, 2, 1]
    futures = [drawer.in_drawing_process(pow, 2, k) for k in range(5)]  # in order, through the worker thread
    assert [f.result() for f in futures] == [1, 2, 4, 8, 16]


def test_a_kept_result_stays_there_until_a_later_call_takes_it(drawer):
    kept = drawer.call_in_drawing_process(list, "abc", keep=True)
    assert isinstance(kept, background.Kept)
    assert drawer.call_in_drawing_process(len, kept) == 3
    with pytest.raises(KeyError):  # taken once
        drawer.call_in_drawing_process(len, kept)


def test_its_errors_are_raised_here_with_where_they_happened(drawer):
    with pytest.raises(ValueError, match="invalid literal") as raised:
        drawer.call_in_drawing_process(int, "not a number")
    assert "Traceback" in str(raised.value.__cause__)
    assert drawer.call_in_drawing_process(int, "7") == 7  # the process goes on


def test_a_killed_process_is_replaced_by_drawing_here(drawer, caplog):
    pid = drawer.call_in_drawing_process(os.getpid)
    os.kill(pid, 9)
    with caplog.at_level(logging.WARNING, logger="lr_jax.background"):
        assert drawer.call_in_drawing_process(os.getpid) == os.getpid()
    assert "the drawing process stopped" in caplog.text
    kept = drawer.call_in_drawing_process(list, "ab", keep=True)  # here, what is kept is the object itself
    assert kept == ["a", "b"]


def test_what_a_killed_process_kept_is_made_again_here(drawer, caplog):
    kept = drawer.call_in_drawing_process(list, "abc", keep=True)
    os.kill(drawer.call_in_drawing_process(os.getpid), 9)
    with caplog.at_level(logging.WARNING, logger="lr_jax.background"):
        assert drawer.call_in_drawing_process(len, kept) == 3  # list("abc") made again here
    assert "the drawing process stopped" in caplog.text


def test_without_the_process_calls_run_here(drawer, monkeypatch):
    monkeypatch.setenv(background.DRAWING_ENV, "0")
    assert drawer.call_in_drawing_process(os.getpid) == os.getpid()
    assert drawer.call_in_drawing_process(list, "ab", keep=True) == ["a", "b"]


def test_the_process_exits_when_this_side_closes(drawer):
    drawer.start_drawing()
    process = drawer._drawer.process
    assert process is not None and process.poll() is None
    drawer.stop_drawing()
    assert process.returncode == 0
