"""Export a trained run as one self-contained function: uint8 images in, P(positive class) out.

The exported function takes `images` uint8[N, S, S, 3] (N any number, S the run's `data.image_size`;
RGB, 0-255, already resized to SxS as `data.images.load_image` does) and returns `proba` [N], the
probability of the run's label 1, in the run's precision (a run of K > 2 classes: `proba` [N, K], the
probability of each class in the order of the run's `classes`, the softmax of its K logits). The run's
preprocessing is inside: flatten in the course's order, divide by 255 (unless `data.scale=false`), the
model's one-example `apply`, vmapped, and the sigmoid (the softmax). `x.astype(float32) / 255` is the
correctly rounded quotient, which is what `data.flatten_and_scale` gets by dividing in float64 and rounding
once (x/255 repeats the 8 bits of x, so no double-rounding tie can occur): the exported features equal
`predict_images`' to the last bit.

Formats (`FORMATS`): "onnx" (`model.onnx`, through jax2onnx; run it with onnxruntime) and "stablehlo"
(`model.stablehlo`, `jax.export.export(...).serialize()`; load it with `jax.export.deserialize` and call
it, on any platform of `STABLEHLO_PLATFORMS`). Beside each, `<file>.json` names the input, the output,
the classes and the threshold. Neither file needs lr_jax to run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.extend
import jax.numpy as jnp

from lr_jax import artifacts, models, pixels, runtime
from lr_jax.errors import ConfigError, DataError
from lr_jax.serving.predict import TrainedRun, check_images_run, load_run

FORMATS = {"onnx": "model.onnx", "stablehlo": "model.stablehlo"}
STABLEHLO_PLATFORMS = ("cpu", "cuda", "rocm", "tpu")  # lowered once for each: one file runs on any of them
ONNX_OPSET = 21  # ONNX 1.16, IR 10: onnxruntime >= 1.18 runs it (jax2onnx defaults to 23, which needs a newer one)
INPUT_NAME, OUTPUT_NAME = "images", "proba"
# Primitives that only call their one jaxpr (not loops or branches, whose jaxprs run 0, 1 or many times).
CALLS = frozenset({"jit", "pjit", "closed_call", "core_call", "custom_jvp_call", "custom_vjp_call"})


def proba_fn(run: TrainedRun) -> Callable[[jax.Array], jax.Array]:
    """images uint8[N, S, S, 3] -> P(class 1) [N] (K classes: P [N, K]): the run's parameters and
    preprocessing, closed over."""
    dtype = runtime.run_dtype(run.config.train.precision)
    params = jax.tree.map(lambda v: jnp.asarray(v, dtype), run.params)
    scale = run.config.data.scale

    def proba(images_NHWC: jax.Array) -> jax.Array:
        x_ND = images_NHWC.reshape(images_NHWC.shape[0], -1).astype(dtype)
        x_ND = x_ND / pixels.PIXEL_MAX if scale else x_ND
        # The one-example `apply`, vmapped: an exported forward pass needs none of `batched_apply`'s gradient
        # form (the MLP's custom_vjp, which jax2onnx cannot read with newer JAX).
        z = jax.vmap(run.model.apply, in_axes=(None, 0))(params, x_ND)
        return jax.nn.softmax(z, axis=-1) if models.is_softmax(run.model) else jax.nn.sigmoid(z)

    return proba


def export_run(run_dir: str | os.PathLike, fmt: str) -> Path:
    """Write `model.onnx` or `model.stablehlo` and its JSON sidecar into the run folder; return the model's path.

    Args:
      run_dir: a finished run folder (`params.npz`, `config.json`), as `scripts/predict.py` takes.
      fmt: "onnx" or "stablehlo".

    Returns:
      The path of the written model file.
    """
    if fmt not in FORMATS:
        raise ConfigError(f"format={fmt!r}: unknown export format. Use one of: {', '.join(FORMATS)}.")
    path = Path(run_dir) / FORMATS[fmt]
    _check_targets(path, path.with_name(path.name + ".json"))
    run = load_run(run_dir)
    check_images_run(run, run_dir)
    size, precision = run.config.data.image_size, run.config.train.precision
    with runtime.precision_scope(precision):
        images = jax.ShapeDtypeStruct((*jax.export.symbolic_shape("N"), size, size, 3), jnp.uint8)
        fn = proba_fn(run)
        blob = _to_onnx(fn, images, float64=precision == "float64") if fmt == "onnx" else _to_stablehlo(fn, images)
    _write_pair(path, blob, sidecar(run, fmt))
    return path


def _check_targets(*paths: Path) -> None:
    """Refuse, before the (slow) conversion, a target name taken by anything but a file."""
    for path in paths:
        if path.exists() and not path.is_file():
            raise DataError(
                f"{path}: is a directory (or another non-file), where export writes its file. Move it away "
                "or rename it, then export again."
            )


def _write_pair(path: Path, blob: bytes, record: dict) -> None:
    """The model file and its sidecar, each atomically; the model's bytes are on disk before the sidecar is
    written, so a full disk (or `ulimit -f`) leaves both files as they were, and says so in one DataError."""
    sidecar_path = path.with_name(path.name + ".json")
    text = json.dumps(artifacts.strict_json(record), indent=2, sort_keys=True, allow_nan=False)
    try:
        with artifacts.atomic_open(path, "wb") as f:
            f.write(blob)
            f.flush()
            os.fsync(f.fileno())  # a full disk shows here, before the sidecar is replaced
            with artifacts.atomic_open(sidecar_path) as g:
                g.write(text)
    except OSError as e:
        raise DataError(
            f"{path}: writing the export failed ({e.strerror or e}); {path.name} and {sidecar_path.name} are as "
            "they were. Free some space (or raise the file size limit, ulimit -f), then export again."
        ) from e


def _to_stablehlo(fn, images: jax.ShapeDtypeStruct) -> bytes:
    exported = jax.export.export(jax.jit(fn), platforms=STABLEHLO_PLATFORMS)(images)
    return bytes(exported.serialize())


def _to_onnx(fn, images: jax.ShapeDtypeStruct, *, float64: bool) -> bytes:
    try:
        import jax2onnx  # optional (the `onnx` extra), and slow to import
    except ImportError as e:
        raise ConfigError(
            f"format=onnx needs jax2onnx, which is not installed ({e}). Install the extra: "
            "pip install -e '.[onnx]', or export format=stablehlo."
        ) from e
    # jax2onnx 0.17 replaces jnp.dot while it traces, with a batching rule that treats dot as elementwise:
    # vmap(dot) over x with w unbatched (the model's forward pass) fails. Traced by JAX first, with every
    # nested call inlined, the function reaches jax2onnx as lax primitives (reshape, convert, div,
    # dot_general, add, max, logistic).
    closed = jax.make_jaxpr(_inline_calls(jax.make_jaxpr(fn)(images)))(images)
    proto = jax2onnx.to_onnx(
        lambda x: jax.extend.core.jaxpr_as_fun(closed)(x)[0],
        [images],
        model_name="lr_jax",
        opset=ONNX_OPSET,
        enable_double_precision=float64,
        input_names=[INPUT_NAME],
        output_names=[OUTPUT_NAME],
    )
    return proto.SerializeToString()


def _inline_calls(closed) -> Callable:
    """The function of the traced `closed` with each nested jaxpr (a `jit` inside it, the primal of a
    `custom_jvp` such as `jax.nn.relu`) evaluated in place, so that tracing it again gives primitives only.

    jax2onnx 0.17.1 lowers such nested calls through JAX internals that JAX 0.12 no longer has; the numbers
    are the same (a custom_jvp's rule only matters for derivatives, which an exported forward pass has none of).
    """

    def evaluate(jaxpr, consts, *args):
        env = dict(zip(jaxpr.constvars, consts)) | dict(zip(jaxpr.invars, args))
        read = lambda var: var.val if isinstance(var, jax.extend.core.Literal) else env[var]
        for eqn in jaxpr.eqns:
            inputs = [read(var) for var in eqn.invars]
            nested = [p for p in eqn.params.values() if hasattr(p, "eqns") and hasattr(p, "consts")]
            if eqn.primitive.name in CALLS and len(nested) == 1:  # its body, evaluated here
                outputs = evaluate(nested[0].jaxpr, nested[0].consts, *inputs)
            else:
                outputs = eqn.primitive.bind(*inputs, **eqn.params)
                outputs = outputs if eqn.primitive.multiple_results else [outputs]
            env.update(zip(eqn.outvars, outputs))
        return [read(var) for var in jaxpr.outvars]

    return lambda *args: evaluate(closed.jaxpr, closed.consts, *args)


def sidecar(run: TrainedRun, fmt: str) -> dict:
    """What a user of the exported file needs to know: input, output, classes, threshold."""
    size, config = run.config.data.image_size, run.config
    record: dict[str, Any] = {
        "format": fmt,
        "file": FORMATS[fmt],
        "input": {
            "name": INPUT_NAME,
            "shape": ["N", size, size, 3],
            "dtype": "uint8",
            "meaning": f"N RGB images, 0-255, resized to {size}x{size} (Pillow, bicubic) as the run's were",
        },
        "output": {
            "name": OUTPUT_NAME,
            "shape": ["N"],
            "dtype": config.train.precision,
            "meaning": f"P({run.classes[1]}): the probability of the positive class, label 1",
        },
        "classes": list(run.classes),
        "positive_class": run.classes[1],
        "threshold": config.model.threshold,
        "decision": f"label 1 ({run.classes[1]}) where proba > threshold, else label 0 ({run.classes[0]})",
        "preprocessing_inside": "flatten (N, S*S*3), "
        + ("divide by 255, " if config.data.scale else "")
        + "sigmoid(w.x + b)",
        "jax_version": jax.__version__,
    }
    if models.is_softmax(run.model):
        k = len(run.classes)
        output = {
            **record["output"],
            "shape": ["N", k],
            "meaning": f"P(class) of each of the {k} classes, column k for classes[k]",
        }
        record.update(
            output=output,
            positive_class=None,
            threshold=None,
            decision="the class of the largest probability in each row (the first on a tie)",
            preprocessing_inside=str(record["preprocessing_inside"]).replace("sigmoid(w.x + b)", "softmax(W.x + b)"),
        )
    if fmt == "stablehlo":
        record["platforms"] = list(STABLEHLO_PLATFORMS)
        record["load"] = "jax.export.deserialize(bytearray(data)).call(images)"
    else:
        record["opset"] = ONNX_OPSET
        record["load"] = "onnxruntime.InferenceSession(path).run(None, {'images': images})[0]"
    return record
