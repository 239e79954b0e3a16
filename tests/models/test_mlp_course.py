"""The course's week-4 networks on the real data: `experiment=two_layer` and `experiment=deep` against the
course's NumPy L-layer code (`lr_jax.reference.deep`, the oracle) at every 100th iteration, and the table
and accuracies the course notebook prints."""

from __future__ import annotations

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from lr_jax import Config, train_and_evaluate
from lr_jax.reference import deep as reference_deep
from tests.conftest import REPO_ROOT

# The NumPy oracle's costs at iterations 0, 100, ..., 2400: reference_deep.L_layer_model on the real data,
# float64, from reference_deep.course_parameters(layers, seed=1), learning rate 0.0075. Regenerate them
# (test_golden_costs_are_the_numpy_oracles, slow) only if reference_deep itself is corrected; a change in
# lr_jax never justifies editing them.
GOLDEN = {
    "two_layer": [
        0.693049735659989,
        0.6464320953428849,
        0.6325140647912677,
        0.6015024920354665,
        0.5601966311605748,
        0.5158304772764729,
        0.4754901313943325,
        0.43391631512257495,
        0.4007977536203885,
        0.35807050113237976,
        0.33942815383664127,
        0.3052753636196265,
        0.27491377282130164,
        0.2468176821061486,
        0.19850735037466097,
        0.17448318112556632,
        0.17080762978096928,
        0.11306524562164719,
        0.09629426845937154,
        0.08342617959726871,
        0.07439078704319091,
        0.06630748132267937,
        0.05919329501038176,
        0.053361403485605606,
        0.04855478562877021,
    ],
    "deep": [
        0.7717493284237686,
        0.6720534400822914,
        0.6482632048575212,
        0.6115068816101356,
        0.5670473268366111,
        0.5401376634547801,
        0.5279299569455267,
        0.46547737717668514,
        0.3691258524959279,
        0.39174697434805344,
        0.31518698886006163,
        0.2726998441789385,
        0.23741853400268134,
        0.19960120532208644,
        0.18926300388463305,
        0.16118854665827753,
        0.1482138966236332,
        0.1377748781297294,
        0.12974017549190123,
        0.12122535068005211,
        0.11382060668633712,
        0.10783928526254132,
        0.10285466069352679,
        0.10089745445261786,
        0.09287821526472397,
    ],
}
# What the notebook prints (its "Cost after iteration i: %f" lines and accuracies), for the README's table.
COURSE_ACCURACY = {"two_layer": (1.0, 0.72), "deep": (0.985645933014, 0.8)}
LAYERS = {"two_layer": [12288, 7, 1], "deep": [12288, 20, 7, 5, 1]}


def compose_run(name: str, data_dir, *overrides: str) -> Config:
    with initialize_config_dir(config_dir=str(REPO_ROOT / "conf"), version_base="1.3"):
        cfg = compose(
            config_name="config",
            overrides=[f"experiment={name}", f"data.dir={data_dir}", "data.download=false", *overrides],
        )
    return Config.from_dict(OmegaConf.to_container(cfg, resolve=True))


# float64: the same operations as the oracle up to summation order and the loss's form (softplus(z) - yz
# here, the course's log(A) there), ~1e-16 per step; measured gaps 1.6e-14 (two_layer), 2.2e-16 (deep).
# float32: rounding of 6e-8 per operation. Both networks go through iterations at which a float32 gap jumps
# 10-100x, so where float32 leaves the table depends on the summation order of the XLA build: two_layer
# stays within 3.4e-6 of the oracle for all 2500 iterations with JAX 0.10.2 (XLA CPU, this VM), but with
# JAX 0.12.0.1 on the same CPU it is within 5.7e-7 up to iteration 800 and 4.4e-3 at 900 (at most 0.039, at
# 1600). So float32 two_layer is held to 1e-5 at iterations 0-800 and to 0.15 after, as deep below.
# The deep network's float32 costs leave the float64 table after iteration 265, and no float32 run can
# follow it: the drift is the rounding of the parameters to float32 at each update, amplified by the
# dynamics, not an operation of lr_jax. Measured per iteration against the float64 run (README, "Larger
# networks"): lr_jax float32 <= 2.2e-7 up to 265, then 1e-6 at 266, 2.2e-4 at 278 (single iterations
# at which the gap jumps 10-100x), 2.5e-3 at 300, 0.057
# at 600, 0.072 at 800 (the oscillating phase, where the course's own cost goes up from 0.369 to 0.392),
# then <= 0.012 from 1100 on (0.0045 at 2400). The float64 run with its parameters rounded to float32 after
# every update (float32 storage, float64 arithmetic) drifts identically (the same 266, 278, 0.0719 at 800;
# it agrees with lr_jax float32 to 1e-7 up to iteration 1848), while rounding only the initial parameters to
# float32 moves no cost by more than 8e-9; the NumPy oracle itself run in float32 leaves the table earlier
# (1e-6 at iteration 68, 0.082 at 900): its own float32 operations (1/(1+exp(-Z)), log(A)) add rounding.
# So float32 deep is held to 1e-5 at iterations 0-200 (before the first amplifying event; measured 2.2e-7),
# and from 300 on to 0.15: a float32 run out of step with the float64 one by an iteration can differ by as
# much as the float64 run's own largest change in one iteration, 0.12 (measured over iterations 250-2500);
# the three float32 runs measured (lr_jax, float32 storage, the NumPy oracle) stay within 0.082.
TOLERANCE = {"float64": 1e-10, "float32": 1e-5}
# (records held to TOLERANCE, the tolerance of the later ones)
AMPLIFIED = {("deep", "float32"): (3, 0.15), ("two_layer", "float32"): (9, 0.15)}


@pytest.mark.slow  # 2500 iterations of each network
@pytest.mark.parametrize("precision", ["float64", "float32"])
@pytest.mark.parametrize("name", ["two_layer", "deep"])
def test_course_networks_reproduce_the_numpy_oracle_every_100_iterations(name, precision, data_dir, tmp_path):
    overrides = [f"train.precision={precision}", "train.print_cost=false", "train.progress=false"]
    metrics = train_and_evaluate(compose_run(name, data_dir, *overrides), tmp_path)
    assert metrics["cost_iterations"] == list(range(0, 2500, 100))
    gap = np.abs(np.asarray(metrics["costs"]) - GOLDEN[name])
    print(f"{name} {precision}: gaps to the NumPy oracle {np.array2string(gap, precision=2)}")
    held, later = AMPLIFIED.get((name, precision), (25, TOLERANCE[precision]))
    atol = np.where(np.arange(25) < held, TOLERANCE[precision], later)
    assert np.all(gap <= atol), f"records over tolerance: {np.flatnonzero(gap > atol) * 100}"
    if held < 25:
        return  # a float32 trajectory amplified away from the table: its accuracies are not the course's
    assert metrics["train_accuracy"] == pytest.approx(COURSE_ACCURACY[name][0], abs=1e-9)
    assert metrics["test_accuracy"] == COURSE_ACCURACY[name][1]


@pytest.mark.slow  # 101 NumPy iterations of each network
@pytest.mark.parametrize("name", ["two_layer", "deep"])
def test_golden_costs_are_the_numpy_oracles(name, course_data):
    """The oracle run live for its first two recorded costs (the whole 2500 take minutes of NumPy)."""
    X = course_data["train"].features(np.float64).T
    Y = course_data["train"].y[None, :].astype(np.float64)
    params = reference_deep.course_parameters(LAYERS[name], seed=1)
    _, costs = reference_deep.L_layer_model(X, Y, params, learning_rate=0.0075, num_iterations=101)
    assert costs == GOLDEN[name][:2]
