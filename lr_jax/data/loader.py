"""`load(cfg)`: the data set that `data.name` names, from its source, with this process's training rows.

catvnoncat    -> course.load_course     the course's two HDF5 files (located or downloaded)
digits        -> digits.load            scikit-learn's bundled 8x8 digits, 10 classes (no download)
image_folder  -> image_folder.load      a folder of your own images, one sub-folder per class
synthetic     -> synthetic.load         a generated, linearly separable stream of uint8 features
"""

from __future__ import annotations

from collections.abc import Callable

from lr_jax.config import DataConfig
from lr_jax.data import course, digits, image_folder, synthetic
from lr_jax.data.split import Split, shard_rows

# data.name -> the source's loader (lr_jax.config.vocab.DATASETS names the same sets: tests/config/test_vocab.py)
SOURCES: dict[str, Callable[..., dict[str, Split]]] = {
    "catvnoncat": course.load_course,
    "digits": digits.load,
    "image_folder": image_folder.load,
    "synthetic": synthetic.load,  # takes the shard's rows too
}


def load(cfg: DataConfig, shard: tuple[int, int] = (0, 1)) -> dict[str, Split]:
    """{"train": Split, "test": Split} of the data set `cfg.name`.

    `shard=(index, count)` keeps only process `index`'s block of the training rows (`shard_rows`); the
    test split is always whole.
    """
    if cfg.name == "synthetic":  # generates only the shard's rows
        return SOURCES["synthetic"](cfg, shard_rows(cfg.num_examples, *shard))
    splits = SOURCES[cfg.name](cfg)
    if shard != (0, 1):
        train = splits["train"]
        rows = shard_rows(len(train.y), *shard)
        splits["train"] = Split(train.x_raw[rows], train.y[rows], train.classes)
    return splits
