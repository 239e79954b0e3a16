"""The MLP (lr_jax/models/mlp.py): no hidden layer is logistic regression; the course's init drawn as the notebook
draws it; L2 on the weights only; gradients against the course's hand-written L-layer backward pass and
central differences for every depth and activation; the model config's checks."""

from __future__ import annotations

import dataclasses

import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from lr_jax import loss, models, optim, runtime, train
from lr_jax.config import Config, SweepConfig
from lr_jax.errors import ConfigError
from lr_jax.models.logistic import LogisticModel
from lr_jax.models.mlp import MLP, course_params
from lr_jax.reference import deep as reference_deep
from lr_jax.runfolder import results

ACTIVATIONS = ("relu", "leaky_relu", "tanh", "sigmoid")


def pixels(rng, m=40, n=30):
    return rng.integers(0, 256, (m, n), np.uint8), rng.integers(0, 2, m).astype(np.int32)


@pytest.fixture
def float64():
    with runtime.precision_scope("float64"):
        yield


@pytest.mark.parametrize("precision, atol", [("float64", 1e-13), pytest.param("float32", 2e-6, marks=pytest.mark.slow)])
def test_no_hidden_layer_trains_exactly_like_logistic_regression(rng, precision, atol):
    """Same costs for 200 steps from zeros; only the summation order of x·w differs (x @ W[n,1] vs dot),
    which moves a float32 cost near 0.69 by a few ulps (1 ulp = 6e-8) and a float64 one by ~1e-16."""
    x_ND, y_N = pixels(rng)
    costs = {}
    with runtime.precision_scope(precision):
        dtype = runtime.run_dtype(precision)
        for name, model in {"logistic": LogisticModel(), "mlp": MLP(init_method="zeros")}.items():
            config = Config.from_dict({"optim": {"learning_rate": 0.01}})
            hp = optim.config_hparams(config, dtype)
            state = train.init_state(model.init(None, x_ND.shape[1], dtype), hp, jax.random.key(0))
            _, costs_T = train.run_steps(state, x_ND, y_N, hp, num_steps=200, model=model)
            costs[name] = np.asarray(costs_T)
    assert costs["mlp"].dtype == dtype
    np.testing.assert_allclose(costs["mlp"], costs["logistic"], rtol=0, atol=atol)
    assert costs["mlp"][-1] < costs["mlp"][0] - 0.03  # it trained


@pytest.mark.parametrize(
    "hidden, scale",
    [
        ((7,), lambda W, n_prev: W * 0.01),
        ((20, 7, 5), lambda W, n_prev: W / np.sqrt(n_prev)),
        ((4, 3), lambda W, n_prev: W / np.sqrt(n_prev)),
    ],
)
def test_course_init_is_the_notebooks_draws_transposed(float64, hidden, scale):
    """RandomState(seed).randn(n_l, n_{l-1}) in layer order, * 0.01 (2-layer) or / sqrt(n_{l-1}) (deeper)."""
    n, seed = 50, 3
    params = MLP(hidden=hidden, init_method="course", course_seed=seed).init(None, n, jnp.float64)
    rs, sizes = np.random.RandomState(seed), (n, *hidden, 1)
    for layer, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        np.testing.assert_array_equal(params[f"W{layer}"], scale(rs.randn(n_out, n_in), n_in).T)
        np.testing.assert_array_equal(params[f"b{layer}"], np.zeros(n_out))


@pytest.mark.parametrize("method, std", [("he", np.sqrt(2 / 2000)), ("xavier", np.sqrt(2 / 2050)), ("normal", 0.3)])
def test_random_inits_have_their_standard_deviation(method, std):
    """100k draws: the sample standard deviation is within 2 % of the intended one (its own spread is 0.2 %)."""
    params = MLP(hidden=(50,), init_method=method, init_scale=0.3).init(jax.random.key(0), 2000, jnp.float32)
    assert np.std(params["W1"]) == pytest.approx(std, rel=0.02)
    assert not np.any(params["b1"])


@pytest.mark.slow  # > 1.5 s on 2 cores
def test_l2_penalizes_every_weight_matrix_and_no_bias(rng):
    x_ND, y_N = pixels(rng)
    model = MLP(hidden=(6, 4), init_method="he")
    params = jax.tree.map(lambda a: a + 0.5, model.init(jax.random.key(1), x_ND.shape[1], jnp.float32))
    squares = sum(float(np.sum(np.square(params[f"W{i}"]))) for i in (1, 2, 3))
    with_l2, without = (loss.cost(params, x_ND, y_N, l2=l2, model=model) for l2 in (0.1, 0.0))
    assert float(with_l2 - without) == pytest.approx(0.05 * squares, rel=1e-6)
    assert model.unit_weights(params).shape == (6, x_ND.shape[1])  # one row per first-layer unit


@pytest.mark.slow  # > 1.5 s on 2 cores
def test_extreme_logits_give_finite_costs_and_gradients(rng):
    x_ND, y_N = pixels(rng)
    model = MLP(hidden=(5,), activation="relu", init_method="he")
    params = jax.tree.map(lambda a: a * 1e9, model.init(jax.random.key(0), x_ND.shape[1], jnp.float32))
    value, grads = jax.value_and_grad(loss.cost)(params, x_ND, y_N, model=model)
    assert np.isfinite(value) and value > 1e6  # confidently wrong somewhere: a huge but exact cost
    assert all(np.all(np.isfinite(g)) for g in jax.tree.leaves(grads))


def to_course(params):
    """lr_jax's params in the notebook's layout: W{l} (n_l, n_{l-1}), b{l} (n_l, 1)."""
    return {k: np.asarray(v).T if k.startswith("W") else np.asarray(v)[:, None] for k, v in params.items()}


def relative_error(a, b) -> float:
    """The course's gradient-check measure ‖a - b‖ / (‖a‖ + ‖b‖)."""
    return float(np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b)))


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize(
    "depth",
    [1, *(pytest.param(d, marks=pytest.mark.slow) for d in (2, 3, 4))],  # deeper ones: a compile each
)
def test_gradients_match_the_course_backward_pass_and_central_differences(float64, depth, activation):
    """float64, relative error < 1e-7 against L_model_backward and against (J(θ+ε) - J(θ-ε)) / 2ε, ε = 1e-6
    (truncation error ~ε²·J''' ~ 1e-12, rounding ~1e-16/ε = 1e-10; a ReLU kink within ε of a
    pre-activation is a ~1e-6 event per unit and example here)."""
    rng = np.random.default_rng(depth)
    x_ND, y_N = pixels(rng, m=20, n=12)
    model = MLP(hidden=(5, 4, 3)[: depth - 1], activation=activation, init_method="xavier")
    params = jax.tree.map(lambda a: a + 0.1, model.init(jax.random.key(depth), 12, jnp.float64))  # biases != 0
    grads = jax.grad(loss.cost)(params, x_ND, y_N, model=model)

    X, Y = x_ND.T / 255.0, y_N[None, :].astype(np.float64)
    AL, caches = reference_deep.L_model_forward(X, to_course(params), activation)
    np.testing.assert_allclose(reference_deep.compute_cost(AL, Y), loss.cost(params, x_ND, y_N, model=model))
    course = reference_deep.L_model_backward(AL, Y, caches, activation)
    flat, unravel = jax.flatten_util.ravel_pytree(params)
    theirs, _ = jax.flatten_util.ravel_pytree(
        {k: jnp.asarray(course[f"d{k}"]).T if k.startswith("W") else jnp.asarray(course[f"d{k}"])[:, 0] for k in params}
    )
    ours, _ = jax.flatten_util.ravel_pytree(grads)
    assert relative_error(ours, theirs) < 1e-7

    J = jax.jit(lambda theta: loss.cost(unravel(theta), x_ND, y_N, model=model))
    eps = 1e-6
    basis = jnp.eye(flat.size, dtype=flat.dtype)
    numeric = jax.vmap(lambda e: (J(flat + eps * e) - J(flat - eps * e)) / (2 * eps))(basis)
    assert relative_error(ours, numeric) < 1e-7


@pytest.mark.parametrize("path", ["plain", pytest.param("chunked", marks=pytest.mark.slow)])
def test_class_weighted_cost_and_gradients_match_the_course_backward_pass(float64, monkeypatch, path):
    """model.class_weight=balanced on an MLP: the weighted mean Σ sᵢLᵢ / Σ sᵢ and its gradients against the
    course's backward pass with each example's dA scaled by m·sᵢ/Σs; also through the chunked pass over uint8
    pixels (`lr_jax.pixels`, 8-row chunks). float64, the same 1e-7 as the unweighted check above."""
    from lr_jax import pixels as pixels_lib
    from lr_jax.pipelines import stages

    if path == "chunked":
        monkeypatch.setitem(pixels_lib.CHUNK_ROWS, jax.default_backend(), 8)  # 40 rows >= 4 chunks: chunked
    x_ND, y_N = pixels(np.random.default_rng(5), m=40, n=12)
    y_N[:30] = 0  # 3:1 imbalance, so the balanced weights are not all 1
    weight_N = stages.sample_weights("balanced", y_N, jnp.float64)
    model = MLP(hidden=(5, 3), activation="relu", init_method="xavier")
    params = jax.tree.map(lambda a: a + 0.1, model.init(jax.random.key(2), 12, jnp.float64))
    value, grads = jax.value_and_grad(loss.cost)(params, jnp.asarray(x_ND), y_N, weight_N, model=model)

    X, Y, S = x_ND.T / 255.0, y_N[None, :].astype(np.float64), np.asarray(weight_N)[None, :]
    AL, caches = reference_deep.L_model_forward(X, to_course(params), "relu")
    assert float(value) == pytest.approx(reference_deep.compute_cost(AL, Y, weights=S), rel=1e-12)
    assert float(value) != pytest.approx(reference_deep.compute_cost(AL, Y), rel=1e-3)  # the weights matter
    course = reference_deep.L_model_backward(AL, Y, caches, "relu", weights=S)
    for k, g in grads.items():
        want = course[f"d{k}"].T if k.startswith("W") else course[f"d{k}"][:, 0]
        assert relative_error(np.asarray(g), want) < 1e-7, k


@pytest.mark.parametrize(
    "model, message",
    [
        ({"name": "logistic", "hidden": [7]}, "model.hidden=[7]"),
        ({"name": "logistic", "init": "he"}, "model.init='he'"),
        ({"name": "mlp", "hidden": [7], "init": "zeros"}, "every hidden unit stays the same"),
        ({"name": "mlp", "hidden": [7, 0]}, "layer widths >= 1"),
        ({"name": "mlp", "activation": "gelu"}, "model.activation='gelu'"),
        ({"name": "mlp", "hidden": 7}, "expected a list of integers"),
        ({"name": "mlp", "hidden": ["a"]}, "model.hidden[0]='a'"),
        ({"name": "mlp", "init": "glorot"}, "model.init='glorot'"),
    ],
)
def test_bad_model_keys_are_named(model, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        Config.from_dict({"model": model})


def test_model_config_builds_the_mlp_with_the_runs_seed_for_the_course_init():
    config = Config.from_dict({"model": {"name": "mlp", "hidden": [], "init": "course"}, "train": {"seed": 4}})
    assert models.build(config.model) == MLP(hidden=(), init_method="course", course_seed=4)
    model = {"name": "mlp", "hidden": [3], "init": "he", "course_seed": 1}
    config = Config.from_dict({"model": model, "train": {"seed": 4}})
    assert models.build(config.model).course_seed == 1
    assert Config.from_dict(config.to_dict()) == config  # a run's config.json reads back as the same config


def synthetic_mlp_config(**sections) -> Config:
    """A small MLP on 8x8 RGB synthetic pixels (192 features), Adam on minibatches: every kind of state."""
    base = {
        "data": {"name": "synthetic", "num_examples": 96, "num_test": 32, "num_features": 192, "image_size": 8},
        "model": {"name": "mlp", "hidden": [6, 4], "activation": "tanh", "init": "he", "l2": 0.001},
        "optim": {"name": "adam", "learning_rate": 0.01},
        "train": {"num_iterations": 30, "batch_size": 32, "checkpoint_every": 10, "print_cost": False},
    }
    for name, values in sections.items():
        base[name] = {**base[name], **values}
    base["train"]["progress"] = False
    return Config.from_dict(base)


@pytest.mark.parametrize("init, course_seed", [("he", None), ("course", None), ("course", 7)])
@pytest.mark.slow  # a vmapped sweep's compile; the sweep's own tests cover its seeds in the fast lane
def test_each_seed_of_a_sweep_starts_where_a_single_run_with_that_seed_starts(init, course_seed):
    """init=course draws from RandomState(train.seed) for every member of the grid, as a single run (or a
    multirun job) with that seed does; an explicit model.course_seed gives every member the same draws."""
    from lr_jax.pipelines import stages, sweep
    from lr_jax.pipelines.spec import spec_from_config

    model = {"init": init, "course_seed": course_seed}
    config = dataclasses.replace(
        synthetic_mlp_config(model=model), sweep=SweepConfig(learning_rates=(0.01,), seeds=(0, 3))
    )
    grid, _ = sweep.initial_states(sweep.grid_specs(sweep.grid_configs(config)), 192)
    for i, seed in enumerate((0, 3)):
        alone, _ = stages.initial_state(spec_from_config(synthetic_mlp_config(model=model, train={"seed": seed})), 192)
        for name, leaf in alone.params.items():
            np.testing.assert_array_equal(grid.params[name][i], leaf, err_msg=f"seed {seed}: {name}")
    if init == "course":
        want = course_params((192, 6, 4, 1), 7 if course_seed else 0, jnp.float32)
        np.testing.assert_array_equal(grid.params["W1"][0], want["W1"])  # the notebook's draws
    assert np.array_equal(grid.params["W1"][0], grid.params["W1"][1]) == (course_seed is not None)


@pytest.mark.slow  # five compiled fits
def test_vmapped_sweep_of_mlps_equals_separate_runs():
    """float64: the grid's batched matrix products sum in another order than one run's (~1e-16 per step);
    30 Adam epochs at these rates keep that far below 1e-10."""
    from lr_jax.pipelines import stages, sweep
    from lr_jax.pipelines.spec import spec_from_config

    config = synthetic_mlp_config(train={"precision": "float64"})
    config = dataclasses.replace(config, sweep=SweepConfig(learning_rates=(0.01, 0.003), seeds=(0, 1)))
    with runtime.precision_scope("float64"):
        inputs = stages.load_inputs(spec_from_config(config))
        configs = sweep.grid_configs(config)
        grid = sweep.train_grid(sweep.grid_specs(configs), inputs.xs["train"], inputs.ys["train"])
        for i, c in enumerate(configs):
            alone = synthetic_mlp_config(
                train={"precision": "float64", "seed": c.train.seed}, optim={"learning_rate": c.optim.learning_rate}
            )  # a single run with this seed, made from its own keys (not from the grid's config)
            alone_spec = spec_from_config(alone)
            state, hparams = stages.initial_state(alone_spec, inputs.n_features)
            single = stages.fit(
                alone_spec, stages.Placed(None, inputs.xs["train"], inputs.ys["train"], None, state, hparams)
            )
            np.testing.assert_allclose(grid.costs[i], single.costs, rtol=0, atol=1e-10, err_msg=f"config {i}")
            for name, leaf in single.state.params.items():
                np.testing.assert_allclose(grid.state.params[name][i], leaf, rtol=0, atol=1e-10, err_msg=name)
    assert not np.allclose(grid.costs[0], grid.costs[1])  # the seeds gave different starting points


@pytest.mark.slow  # three whole runs
def test_resumed_mlp_run_is_bit_identical_and_predicts_like_the_model(tmp_path):
    from PIL import Image

    from lr_jax import artifacts
    from lr_jax.pipelines import experiment
    from lr_jax.serving import predict

    whole = tmp_path / "whole"
    experiment.train_and_evaluate(synthetic_mlp_config(), whole)
    parts = tmp_path / "parts"
    experiment.train_and_evaluate(synthetic_mlp_config(train={"num_iterations": 10}), parts)
    experiment.train_and_evaluate(synthetic_mlp_config(train={"resume": True}), parts)
    want, got = artifacts.load_params(whole / "params.npz"), artifacts.load_params(parts / "params.npz")
    assert sorted(got) == ["W1", "W2", "W3", "b1", "b2", "b3"] and got["W1"].shape == (192, 6)
    for name in want:
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)

    x_HWC = np.random.default_rng(0).integers(0, 256, (8, 8, 3), np.uint8)
    Image.fromarray(x_HWC).save(tmp_path / "x.png")
    (prediction,) = predict.predict_images(whole, [tmp_path / "x.png"])
    model = models.build(synthetic_mlp_config().model)
    logit = model.apply(jax.tree.map(jnp.asarray, want), jnp.asarray(x_HWC.reshape(-1)))
    assert prediction.proba == pytest.approx(float(jax.nn.sigmoid(logit)), abs=1e-6)


@pytest.mark.slow  # a whole run through train_and_evaluate, figures included
def test_early_stopping_keeps_the_best_mlp_on_a_validation_split_with_class_weights(tmp_path):
    """Adam at 0.05 overfits 72 examples within a few dozen steps, so the validation log-loss turns up and the
    run stops `patience` measurements after its best; the kept (written) MLP is the best one: its validation
    log-loss recomputed from params.npz is the recorded best (1e-6 relative: another compiled program)."""
    from lr_jax import artifacts, evaluate
    from lr_jax.pipelines import experiment, stages
    from lr_jax.pipelines.spec import spec_from_config

    config = synthetic_mlp_config(
        data={"val_fraction": 0.25},
        model={"hidden": [16], "l2": 0.0, "class_weight": "balanced"},
        optim={"learning_rate": 0.05},
        train={
            "num_iterations": 300,
            "log_every": 10,
            "early_stopping": True,
            "early_stopping_patience": 3,
            "early_stopping_warmup": 0,
        },
    )
    metrics = experiment.train_and_evaluate(config, tmp_path)
    record, curve = metrics["early_stopping"], metrics["val_curve"]
    assert record["stopped_at"] == record["best_iteration"] + 30 == metrics["n_iter"] < 300
    assert record["best_value"] == min(curve["val_log_loss"])
    params = jax.tree.map(jnp.asarray, artifacts.load_params(tmp_path / "params.npz"))
    inputs = stages.load_inputs(spec_from_config(config))
    model = models.build(config.model)
    scores = evaluate.evaluate_split(model, params, inputs.xs["val"], inputs.ys["val"], threshold=0.5)
    np.testing.assert_allclose(scores["log_loss"], record["best_value"], rtol=1e-6)
    assert metrics["val_log_loss"] == pytest.approx(record["best_value"], rel=1e-6)


def test_mlp_teacher_labels_are_balanced_and_not_linearly_predictable():
    """The scale study's task: a least-squares linear fit on 5000 examples scores within 3 % of chance on
    5000 others (the teacher squares its units); classes within 5 % of half."""
    from lr_jax.data import synthetic

    x, y = synthetic.generate(0, 10000, 64, seed=0, teacher="mlp")
    assert abs(y.mean() - 0.5) < 0.05
    a = np.c_[x / 255 - 0.5, np.ones(len(x))]
    w = np.linalg.lstsq(a[:5000], 2.0 * y[:5000] - 1, rcond=None)[0]
    assert abs(np.mean((a[5000:] @ w > 0) == y[5000:]) - 0.5) < 0.03
    np.testing.assert_array_equal(synthetic.generate(300, 700, 64, seed=0, teacher="mlp")[1], y[300:700])


@pytest.mark.slow  # eight small trainings
def test_scale_study_writes_its_table_and_figure(tmp_path):
    from lr_jax.pipelines.studies import StudyConfig, run_study
    from tests.conftest import curves_in_png

    config = Config.from_dict(
        {
            "data": {"name": "synthetic", "teacher": "mlp", "num_features": 16, "num_test": 500},
            "model": {"name": "mlp", "init": "zeros"},
            "optim": {"name": "adam", "learning_rate": 0.01},
            "train": {"checkpoint_every": 0, "print_cost": False, "progress": False},
            "sweep": {"seeds": [0, 1]},
        }
    )
    study = StudyConfig(kind="scale", sizes=(50, 400), widths=(0, 16), updates=200, batch_size=64)
    rows = run_study(config, study, tmp_path)
    assert [(r["model"], r["train_size"], r["seeds"]) for r in rows] == [
        ("logistic", 50, 2),
        ("logistic", 400, 2),
        ("mlp[16]", 50, 2),
        ("mlp[16]", 400, 2),
    ]
    assert [r["epochs"] for r in rows] == [200, 32, 200, 32]  # 200 updates of min(64, m) examples
    assert all(0.3 < r["test_accuracy_mean"] < 1 for r in rows)
    assert (tmp_path / "scale_study.csv").read_text().count("\n") == 5
    assert curves_in_png(tmp_path / "scale_study.png") == 2
    record = results.read(tmp_path / "scale_study.json")  # the docs' table: a row per model, a column per size
    assert record["command"].startswith("python ") and record["versions"]["jax"]
    assert record["tables"][0]["columns"] == ["training examples", "50", "400"]
    assert record["tables"][0]["rows"][1] == ["mlp[16]", *(f"{r['test_accuracy_mean']:.3f}" for r in rows[2:])]


@pytest.mark.slow  # two small seed grids
def test_activation_study_writes_a_row_and_a_curve_per_activation(tmp_path):
    from lr_jax.pipelines.studies import StudyConfig, run_study
    from tests.conftest import curves_in_png

    config = synthetic_mlp_config(
        model={"hidden": [4], "l2": 0.0},
        optim={"name": "sgd", "learning_rate": 0.5},
        train={"num_iterations": 40, "batch_size": None, "checkpoint_every": 0},
    )
    config = dataclasses.replace(config, sweep=SweepConfig(seeds=(0, 1)))
    rows = run_study(config, StudyConfig(activations=("sigmoid", "relu"), target_cost=0.69), tmp_path)
    assert [(r["activation"], r["seeds"]) for r in rows] == [("sigmoid", 2), ("relu", 2)]
    for r in rows:
        assert r["final_cost_min"] <= r["final_cost_mean"] <= r["final_cost_max"] < 0.7
    assert curves_in_png(tmp_path / "activation_study.png") == 2
    assert (tmp_path / "activation_study.csv").read_text().count("\n") == 3
    table = results.read(tmp_path / "activation_study.json")["tables"][0]
    assert [row[0] for row in table["rows"]] == ["sigmoid", "relu"]
    assert table["rows"][1][1].startswith(f"{rows[1]['final_cost_mean']:.3f} (")


def plain_cost(params, x_ND, y_N):
    """J of the ReLU network written out with plain matrix products (no custom first layer); pixels / 255."""
    a = x_ND / 255.0
    for layer in range(1, len(params) // 2):
        a = jax.nn.relu(a @ params[f"W{layer}"] + params[f"b{layer}"][None, :])
    z_N = (a @ params[f"W{len(params) // 2}"])[:, 0] + params[f"b{len(params) // 2}"]
    return jnp.mean(optax.sigmoid_binary_cross_entropy(z_N, y_N))


@pytest.mark.slow  # eight gradients, each traced and compiled op by op: the fast lane's heaviest test
def test_first_layer_gradients_equal_plain_autodiff(rng, float64):
    """float64: ∂J/∂W¹ as (dZᵀX)ᵀ sums the same 40 products per entry as Xᵀ dZ, in the order its kernel
    picks (~1e-16 relative each), so 1e-12 holds on any CPU or GPU. Also ∂J/∂X (float features) and a grid
    of networks (vmap over the params, as the sweep does), and the mean of per-example gradients."""
    x_ND, y_N = pixels(rng)
    model = MLP(hidden=(5, 3), init_method="xavier")
    params = jax.tree.map(lambda a: a + 0.1, model.init(jax.random.key(0), x_ND.shape[1], jnp.float64))
    ours = lambda p, x: loss.cost(p, x, y_N, model=model)
    plain = lambda p, x: plain_cost(p, x, y_N.astype(np.float64))
    grid = jax.tree.map(lambda a: jnp.stack([a, 2 * a]), params)
    x_float = jnp.asarray(x_ND, jnp.float64)
    # Per-example gradients go through the plain one-example `apply`; their mean is the batched gradient.
    per_example = jax.vmap(jax.grad(loss.example_loss), (None, 0, 0, None))(params, x_ND, y_N.astype(np.float64), model)
    pairs = [
        (jax.grad(ours)(params, x_ND), jax.grad(plain)(params, x_ND)),
        (jax.tree.map(lambda g: g.mean(axis=0), per_example), jax.grad(plain)(params, x_ND)),
        (jax.grad(ours, argnums=1)(params, x_float / 255.0) / 255.0, jax.grad(plain, argnums=1)(params, x_float)),
        (jax.vmap(jax.grad(ours), (0, None))(grid, x_ND), jax.vmap(jax.grad(plain), (0, None))(grid, x_ND)),
    ]
    for got, want in pairs:
        jax.tree.map(lambda g, w: np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-15), got, want)
