"""Export: the ONNX and StableHLO files, run in a process that cannot import lr_jax, give the probabilities
of `predict_images` for the same images.

Tolerance 1e-6 (absolute, on probabilities): both sides compute the same float32 (or float64) operations —
uint8 -> float, /255 (correctly rounded either way, so the features are bit-identical), one dot product
of D terms, + b, sigmoid — and may differ only in the order the dot product is summed (onnxruntime's
Einsum/MatMul kernel, or XLA compiling a program with a dynamic batch size) and in the sigmoid's last
bit. Measured: at most 1.2e-7 (ONNX) and 2.7e-7 (StableHLO) on the course run (D = 12288, trained
weights, 100 images); 6e-8 on the tiny runs here (D = 768). A reordered float32 sum of D terms moves the
logit by about eps * sqrt(D) * max|w_i x_i| in practice, and the sigmoid's slope (at most 1/4) shrinks
that, so 1e-6 keeps a 4x margin over the worst measured case at the course's size on any CPU or GPU.
The MLP variant (768 -> 4 -> 1) sums its first layer's four dot products of D terms the same way, and the
4-term second layer adds a few ulps more of its logit; measured: 6e-8 (StableHLO) and 9e-8 (ONNX) here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lr_jax import Config, train_and_evaluate
from lr_jax.errors import ConfigError
from lr_jax.serving.export import FORMATS, export_run
from lr_jax.serving.predict import predict_images
from tests.conftest import REPO_ROOT
from tests.helpers import core_dependencies_only

TOLERANCE = 1e-6  # see the module docstring
# jax2onnx's first conversion in a process takes ~20 s on 2 CPU cores (it registers plugins for flax,
# equinox, ...): the ONNX cases are in the slow lane.
FORMAT_PARAMS = [pytest.param("onnx", marks=pytest.mark.slow), "stablehlo"]
SIZE = 16  # the tiny runs' data.image_size: D = 768

VARIANTS = {  # each a tiny run; overrides of Config.from_dict
    "float32": {},
    "raw-pixels": {"data": {"scale": False}, "optim": {"learning_rate": 1e-7}},
    "float64": {"train": {"precision": "float64"}},
    "mlp": {"model": {"name": "mlp", "hidden": [4], "init": "he"}},  # ReLU, 768 -> 4 -> 1
}

# Run in a fresh interpreter, in which any import of lr_jax fails: the file alone must be enough.
BLOCK_LR_JAX = """
import sys
class _NoLrJax:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "lr_jax":
            raise ImportError("the exported model must run without lr_jax")
sys.meta_path.insert(0, _NoLrJax())
import numpy as np
model, images_path, out_path = sys.argv[1:]
images = np.load(images_path)
"""
CALL_ONNX = """
import onnxruntime
session = onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])
call = lambda x: session.run(None, {"images": x})[0]
outs = [call(images), call(images[:1])]
assert "jax" not in sys.modules, "onnxruntime alone runs the ONNX file"
"""
CALL_STABLEHLO = """
import jax
with open(model, "rb") as f:
    exported = jax.export.deserialize(bytearray(f.read()))
outs = [np.asarray(exported.call(images)), np.asarray(exported.call(images[:1]))]
"""
SAVE = """
assert "lr_jax" not in sys.modules
np.savez(out_path, all=outs[0], one=outs[1])
"""
RUNNERS = {"onnx": BLOCK_LR_JAX + CALL_ONNX + SAVE, "stablehlo": BLOCK_LR_JAX + CALL_STABLEHLO + SAVE}


def requires(fmt: str) -> None:
    if fmt == "onnx":
        pytest.importorskip("jax2onnx", reason="format=onnx needs the onnx extra: pip install -e '.[onnx]'")
        pytest.importorskip("onnxruntime", reason="format=onnx needs the onnx extra: pip install -e '.[onnx]'")


def write_pngs(folder: Path, images_NHWC: np.ndarray) -> list[Path]:
    """Each image as a lossless PNG; at the run's size, predict's decoder gives these pixels back."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{i}.png" for i in range(len(images_NHWC))]
    for path, image in zip(paths, images_NHWC):
        Image.fromarray(image).save(path)
    return paths


def run_exported(model: Path, images_NHWC: np.ndarray, tmp_path: Path, fmt: str):
    """(P for all images, P for the first one alone) from the exported file, in a process without lr_jax."""
    np.save(tmp_path / "images.npy", images_NHWC)
    env = {"PATH": "/usr/bin:/bin", "JAX_PLATFORMS": "cpu"}  # 64-bit mode off: a float64 file runs as it is
    args = [sys.executable, "-c", RUNNERS[fmt], str(model), str(tmp_path / "images.npy"), str(tmp_path / "out.npz")]
    result = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    with np.load(tmp_path / "out.npz") as out:
        return out["all"], out["one"]


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory) -> Path:
    """Two classes of 10 PNGs each, 20x20; class 1 is redder, so a few steps separate them."""
    root = tmp_path_factory.mktemp("folder")
    rng = np.random.default_rng(0)
    for label, name in enumerate(["dog", "cat"]):
        pixels_NHWC = rng.integers(0, 256, (10, 20, 20, 3), np.uint8)
        pixels_NHWC[..., 0] = np.maximum(pixels_NHWC[..., 0], 128 * label)
        write_pngs(root / name, pixels_NHWC)
    return root


@pytest.fixture(scope="module", params=list(VARIANTS))
def tiny_run(request, image_folder, tmp_path_factory) -> Path:
    """A finished 30-iteration run on the image folder, at 16x16 (D = 768), in one of VARIANTS."""
    workdir = tmp_path_factory.mktemp(f"run-{request.param}")
    settings = {
        "data": {
            "name": "image_folder",
            "dir": str(image_folder),
            "cache_dir": str(workdir / "cache"),
            "classes": ["dog", "cat"],
            "image_size": SIZE,
        },
        "optim": {"learning_rate": 0.05},
        "train": {"num_iterations": 30, "log_every": 10, "print_cost": False, "checkpoint_every": 0},
    }
    for group, values in VARIANTS[request.param].items():
        settings[group] = {**settings.get(group, {}), **values}
    train_and_evaluate(Config.from_dict(settings), workdir)
    return workdir


@pytest.mark.slow  # trains a run per variant and loads the export in a fresh process
@pytest.mark.parametrize("fmt", FORMAT_PARAMS)
def test_exported_model_gives_predict_images_probabilities(tiny_run, fmt, tmp_path):
    requires(fmt)
    images_NHWC = np.random.default_rng(1).integers(0, 256, (9, SIZE, SIZE, 3), np.uint8)
    expected = np.array([p.proba for p in predict_images(tiny_run, write_pngs(tmp_path / "png", images_NHWC))])

    path = export_run(tiny_run, fmt)
    float64 = json.loads((tiny_run / "config.json").read_text())["config"]["train"]["precision"] == "float64"
    proba_N, proba_1 = run_exported(path, images_NHWC, tmp_path, fmt)

    assert path == tiny_run / FORMATS[fmt]
    assert proba_N.dtype == (np.float64 if float64 else np.float32) and proba_1.shape == (1,)
    np.testing.assert_allclose(proba_N, expected, rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(proba_1, expected[:1], rtol=0, atol=TOLERANCE)  # N is dynamic
    assert 0.01 < expected.min() < expected.max() < 0.99, "the images should not all saturate the sigmoid"


@pytest.mark.slow  # trains a run per variant (the tiny_run fixture)
@pytest.mark.parametrize("fmt", FORMAT_PARAMS)
def test_sidecar_names_input_output_classes_and_threshold(tiny_run, fmt):
    requires(fmt)
    path = export_run(tiny_run, fmt)

    sidecar = json.loads(path.with_name(path.name + ".json").read_text())

    assert sidecar["file"] == path.name and sidecar["format"] == fmt
    assert sidecar["input"]["shape"] == ["N", SIZE, SIZE, 3] and sidecar["input"]["dtype"] == "uint8"
    assert sidecar["output"]["meaning"].startswith("P(cat)") and sidecar["output"]["shape"] == ["N"]
    assert (sidecar["classes"], sidecar["positive_class"], sidecar["threshold"]) == (["dog", "cat"], "cat", 0.5)
    assert ("divide by 255" in sidecar["preprocessing_inside"]) == ("raw-pixels" not in tiny_run.name)
    assert sorted(p.name for p in tiny_run.glob(".*tmp")) == []  # the atomic writes left no temporary file


@pytest.mark.slow  # the finished 2000-iteration course run
@pytest.mark.parametrize("fmt", FORMAT_PARAMS)
def test_exported_course_run_classifies_the_test_images_as_predict_does(course_run, course_data, fmt, tmp_path):
    """D = 12288 and trained weights: the case the tolerance is argued for."""
    requires(fmt)
    images_NHWC = course_data["test"].x_raw  # (50, 64, 64, 3) uint8
    predictions = predict_images(course_run, write_pngs(tmp_path / "png", images_NHWC))

    proba_N, _ = run_exported(export_run(course_run, fmt), images_NHWC, tmp_path, fmt)

    np.testing.assert_allclose(proba_N, [p.proba for p in predictions], rtol=0, atol=TOLERANCE)
    assert [int(q > 0.5) for q in proba_N] == [p.label for p in predictions]


@pytest.mark.parametrize("tiny_run", ["float32"], indirect=True)
def test_cli_writes_the_file_and_prints_its_path(tiny_run, run_cli):
    (tiny_run / FORMATS["stablehlo"]).unlink(missing_ok=True)

    code, out, err = run_cli("export", f"run={tiny_run}", "format=stablehlo")

    assert code == 0, err
    assert out.splitlines() == [f"wrote {tiny_run / 'model.stablehlo'} and model.stablehlo.json"]
    assert (tiny_run / "model.stablehlo").stat().st_size > 0


# Run under tests.helpers.core_dependencies_only: the ONNX packages are not importable, flatbuffers is (a core
# dependency: jax.export serializes with it).
ONLY_CORE_PROBE = """
import flatbuffers
for name in ("jax2onnx", "onnxruntime", "onnx"):
    try:
        __import__(name)
    except ImportError:
        continue
    raise SystemExit(f"{name} is importable")
"""


@pytest.mark.slow  # a fresh interpreter imports JAX and Hydra to export
@pytest.mark.parametrize("tiny_run", ["float32"], indirect=True)
def test_cli_exports_stablehlo_with_only_the_core_dependencies(tiny_run, tmp_path):
    """`pip install -e .` without extras is enough for `scripts/export.py format=stablehlo`."""
    env = core_dependencies_only(tmp_path)
    probe = subprocess.run([sys.executable, "-c", ONLY_CORE_PROBE], env=env, capture_output=True, text=True)
    assert probe.returncode == 0, probe.stderr
    (tiny_run / FORMATS["stablehlo"]).unlink(missing_ok=True)

    script = str(REPO_ROOT / "scripts" / "export.py")
    args = [sys.executable, script, f"run={tiny_run}", "format=stablehlo"]
    result = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"wrote {tiny_run / 'model.stablehlo'} and model.stablehlo.json"]
    assert (tiny_run / "model.stablehlo").stat().st_size > 0


@pytest.mark.parametrize(
    "args, says",
    [
        (["format=tflite"], "format='tflite': unknown export format. Use one of: onnx, stablehlo."),
        ([], "run not given"),
        (["format=stablehlo"], "no params.npz"),
    ],
    ids=["unknown-format", "no-run", "not-a-run"],
)
def test_cli_refuses_bad_input_with_one_line(tmp_path, run_cli, args, says):
    run = [f"run={tmp_path}"] if args else []

    code, out, err = run_cli("export", *run, *args)

    assert (code, out) == (2, "")
    assert err.startswith("error: ") and says in err and "Traceback" not in err


@pytest.mark.parametrize("tiny_run", ["float32"], indirect=True)
def test_onnx_without_the_extra_says_what_to_install(tiny_run, monkeypatch):
    monkeypatch.setitem(sys.modules, "jax2onnx", None)  # `import jax2onnx` now raises ImportError

    with pytest.raises(ConfigError, match=r"pip install -e '\.\[onnx\]'"):
        export_run(tiny_run, "onnx")


def test_inlining_calls_keeps_the_numbers_and_leaves_loops_alone():
    """What jax2onnx receives: relu's custom_jvp and jit bodies inlined into primitives, a scan still a scan
    (its body runs once per step), the same values exactly (the same primitives on the same inputs)."""
    import jax
    import jax.numpy as jnp

    from lr_jax.serving.export import _inline_calls

    def fn(x_ND):
        z_N = jax.nn.relu(x_ND @ jnp.arange(6.0).reshape(3, 2)).sum(axis=1)
        return jax.lax.scan(lambda c, z: (c + jax.nn.sigmoid(z), c), 0.0, z_N)[1]

    x_ND = jnp.linspace(-1.0, 1.0, 12).reshape(4, 3)
    flat = jax.make_jaxpr(_inline_calls(jax.make_jaxpr(fn)(x_ND)))(x_ND)
    names = {eqn.primitive.name for eqn in flat.jaxpr.eqns}
    assert "scan" in names and not names & {"custom_jvp_call", "jit", "pjit"}
    np.testing.assert_array_equal(jax.extend.core.jaxpr_as_fun(flat)(x_ND)[0], fn(x_ND))
