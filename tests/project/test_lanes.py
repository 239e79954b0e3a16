"""The tests' layout: folders mirror lr_jax's wings, and the lanes (markers) come from the test files' names."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LANES, REPO_ROOT, lane_markers

TESTS = REPO_ROOT / "tests"


def test_test_folders_are_the_packages_wings_and_project():
    wings = {p.parent.name for p in (REPO_ROOT / "lr_jax").glob("*/__init__.py")}
    folders = {p.name for p in TESTS.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders <= wings | {"project"}, f"not a wing of lr_jax/ (a lane is a marker): {folders - wings}"
    for folder in folders:  # packages: tests/models/test_logistic.py and tests/sklearn/test_logistic.py coexist
        assert (TESTS / folder / "__init__.py").is_file(), folder


def test_a_wing_folder_does_not_shadow_the_library_it_is_named_after():
    import sklearn

    assert not Path(sklearn.__file__).is_relative_to(TESTS), sklearn.__file__


@pytest.mark.parametrize(
    "path, fixtures, lanes",
    [
        ("tests/serving/test_predict.py", ["tmp_path"], set()),
        ("tests/serving/test_predict_cli.py", ["run_cli"], {"cli"}),
        ("tests/serving/test_predict_course.py", ["course_run", "data_dir"], {"course"}),
        ("tests/runfolder/test_corrupt_faults.py", ["finished_run"], {"faults"}),
        ("tests/test_train_cli.py", ["data_dir"], {"cli", "course"}),  # needs the data wherever it lives
        ("tests/data/test_course.py", [], set()),  # the tests of lr_jax/data/course.py: subject, no lane
        ("tests/data/test_course_course.py", ["data_dir"], {"course"}),
    ],
)
def test_a_tests_lanes_are_its_files_last_word_and_the_data_it_needs(path, fixtures, lanes):
    assert lane_markers(Path(path), fixtures) == lanes


def test_the_lanes_and_slow_are_the_registered_markers(pytestconfig):
    registered = {m.split(":")[0] for m in pytestconfig.getini("markers")}  # pyproject.toml's and the plugins'
    assert {*LANES, "slow"} <= registered


def test_every_collected_test_carries_its_lanes(request):
    for item in request.session.items:
        expected = lane_markers(item.path, getattr(item, "fixturenames", ()))
        assert expected <= {m.name for m in item.iter_markers()}, item.nodeid
