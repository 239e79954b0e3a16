"""Classify your own images: `python scripts/predict.py run=<run folder> images=[a.jpg,b.png]`.

Prints one line per image: its path, the probability of the run's positive class (label 1: "cat" for the
course's data) and the predicted class, with the run's own class names and threshold; for a run of K > 2
classes the `top_k` most probable classes with their probabilities, then the predicted class.
"""

from __future__ import annotations

import hydra_fixes  # first (on sys.path: Python puts a script's folder there): SIGINT/SIGTERM handled from here

# isort: split
import hydra
from omegaconf import DictConfig, OmegaConf


@hydra.main(version_base="1.3", config_path="../conf", config_name="predict")
def main(cfg: DictConfig) -> None:
    from lr_jax.errors import ConfigError, exit_on_error  # light; JAX is imported only to predict

    with exit_on_error():  # `error: <message>` and exit code 2; a traceback only with HYDRA_FULL_ERROR=1
        missing = [k for k in ("run", "images") if OmegaConf.is_missing(cfg, k)]
        if missing:
            raise ConfigError(
                f"{' and '.join(missing)} not given. Pass both: "
                "python scripts/predict.py run=<run folder> images=[a.jpg,b.png]."
            )
        args = OmegaConf.to_container(cfg, resolve=True)
        images = [args["images"]] if isinstance(args["images"], str) else args["images"]
        if not isinstance(images, list) or not all(isinstance(p, str) for p in images):
            raise ConfigError(
                f"images={args['images']!r}: expected a path or a list of paths, e.g. images=[a.jpg,b.png]."
            )
        top_k = args.get("top_k")
        if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int)):
            raise ConfigError(f"top_k={top_k!r}: expected an integer >= 1, or null (= min(K, 3)).")
        from lr_jax.runtime import freeze_long_lived_objects
        from lr_jax.serving.predict import describe, predict_images

        freeze_long_lived_objects()  # the process ends with the run: spare the collector its imports
        for p in predict_images(args["run"], images, top_k=top_k):
            print(describe(p))


if __name__ == "__main__":
    with hydra_fixes.SIGNALS:  # SIGINT / SIGTERM at any moment: one `error:` line, exit 130 / 143
        main()
