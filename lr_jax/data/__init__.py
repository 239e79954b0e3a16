"""The data package: one `Split` type, its sources, and the loader that picks one by `data.name`.

    split.py         Split, DEFAULT_CLASSES, flatten_and_scale, shard_rows, split_validation,
                     check_both_classes (the leaf)
    images.py        load_image: the one image decoder (image folders and predict)
    course.py        the course's HDF5 files: read, check, verify (read_split, load_course)
    digits.py        scikit-learn's bundled 8x8 digits, 10 classes, no download
    download.py      find the course's files, or download them verified
    image_folder.py  a folder of your own images, decoded once and cached
    synthetic.py     a generated, linearly separable data set of any size
    loader.py        load(cfg, shard): dispatches to the sources

Sources import the leaf, never the loader; this file only re-exports.
"""

from lr_jax.data import download
from lr_jax.data.course import CONTENT_SHA256, load_course, read_split
from lr_jax.data.loader import load
from lr_jax.data.split import (
    DEFAULT_CLASSES,
    Split,
    check_both_classes,
    content_sha256,
    flatten_and_scale,
    shard_rows,
    split_validation,
)

__all__ = [
    "CONTENT_SHA256",
    "DEFAULT_CLASSES",
    "Split",
    "check_both_classes",
    "content_sha256",
    "download",
    "flatten_and_scale",
    "load",
    "load_course",
    "read_split",
    "shard_rows",
    "split_validation",
]
