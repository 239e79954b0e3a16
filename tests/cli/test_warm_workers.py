"""A multirun's jobs reuse warm worker processes (`hydra/launcher=parallel`, Hydra's joblib launcher): the
jobs after a worker's first pay no import and no compile. Not timed: it checks the record each job writes
(`process_id`, `run_in_process`, `compile_time_s`, `import_time_s` in metrics.json)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict

import pytest

from tests.conftest import REPO_ROOT

RATES = (0.1, 0.2, 0.3, 0.4)  # 4 jobs on the launcher's 2 workers: at least one worker runs two


@pytest.mark.slow  # one multirun: a parent and two worker processes, each importing JAX
def test_a_multiruns_later_jobs_reuse_a_warm_worker(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher")
    command = [
        sys.executable,
        str(REPO_ROOT / "scripts" / "train.py"),
        "-m",
        "hydra/launcher=parallel",
        "data=synthetic",
        "data.num_examples=40",
        "data.num_test=16",
        "data.num_features=300",
        "train.num_iterations=50",  # enough to repay K: the span
        "train.progress=false",
        "train.print_cost=false",
        f"optim.learning_rate={','.join(map(str, RATES))}",
        f"hydra.sweep.dir={tmp_path}",
    ]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = [json.loads((tmp_path / str(i) / "metrics.json").read_text()) for i in range(len(RATES))]
    by_process = defaultdict(list)
    for job in jobs:
        by_process[job["process_id"]].append(job["run_in_process"])
    assert len(by_process) <= 2 and all(sorted(r) == list(range(1, len(r) + 1)) for r in by_process.values())
    later = [job for job in jobs if job["run_in_process"] > 1]
    assert later, by_process  # a worker ran a second job
    for job in later:  # JAX's in-memory caches: nothing compiled, nothing imported
        assert job["compile_time_s"] == 0.0 and job.get("import_time_s") is None, job
    for job in jobs:
        if job["run_in_process"] == 1:  # a worker's first job imports lr_jax in that worker, from its own clock
            assert 0 < job["import_time_s"] < job["process_time_s"], job
            assert job["parametrization"] == "span"  # m = 40 < n/4: each job trains in the span
