"""Image datasets by name: the reader each one needs, and the cache the vision recipes train from.

Each reader (:mod:`~wavegen.data.mnist` for MNIST and Fashion-MNIST's idx
files, :mod:`~wavegen.data.cifar10` for CIFAR-10's python batches,
:mod:`~wavegen.data.folders` for a folder of images such as CelebA) reads a
dataset's real layout into an :class:`~wavegen.data.imageset.ImageSet` per
split, "train" and "test". ``digits`` is the embedded demo
(:mod:`~wavegen.data.digits_demo`), written in MNIST's layout and read by the
MNIST reader.

:func:`prepare_images` reads a dataset once and caches it as ``.npy`` arrays
(``images-<split>.npy`` uint8 ``(N, H, W, C)``, ``labels-<split>.npy`` int64),
with ``manifest.json`` written last (:mod:`wavegen.data.cache`, shared by every
reader): a later call finds the finished cache, checks the arrays and the
source files' sizes and times, and reads nothing else.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from wavegen.data.cache import CachedManifest, array_is_intact, fingerprint, save_array
from wavegen.data.cifar10 import batch_paths, read_cifar10
from wavegen.data.folders import read_image_folder, scan_image_folder
from wavegen.data.imageset import SPLITS, ImageSet, resize_images
from wavegen.data.mnist import find_idx_files, read_mnist
from wavegen.errors import DatasetError

__all__ = ["IMAGE_DATASETS", "SPLITS", "ImageManifest", "check_image_layout", "prepare_images", "read_images"]

log = logging.getLogger(__name__)

IMAGE_DATASETS = ("mnist", "fashion-mnist", "cifar10", "folder", "digits")


# ---------------------------------------------------------------- reading

def read_images(kind: str, root: str | Path, *, image_size: int | None = None,
                progress: Callable[[Iterable], Iterable] | None = None) -> dict[str, ImageSet]:
    """``{"train": ..., "test": ...}`` of dataset ``kind`` (one of :data:`IMAGE_DATASETS`) at ``root``.

    ``image_size`` resizes every image to that square (Lanczos); None keeps
    MNIST's 28 and CIFAR-10's 32, and gives 64 for a folder.
    """
    _check_kind(kind)
    if kind == "folder":
        return read_image_folder(root, image_size=image_size, progress=progress)
    if kind == "cifar10":
        sets = read_cifar10(root, progress=progress)
    else:
        sets = read_mnist(root, kind, progress=progress)
    if image_size is None:
        return sets
    return {split: ImageSet(resize_images(s.images, image_size), s.labels, s.classes) for split, s in sets.items()}


def check_image_layout(kind: str, root: str | Path) -> None:
    """Raise :class:`DatasetError` if ``root`` does not hold dataset ``kind``; lists files, opens none."""
    _source_files(kind, Path(root))


# ---------------------------------------------------------------- the cache

class ImageManifest(CachedManifest):
    """What :func:`prepare_images` cached: per split, ``images-<split>.npy`` and ``labels-<split>.npy``."""

    FORMAT = "wavegen.images"
    WHAT = "image"

    def __init__(self, cache_dir: str | Path, record: dict):
        self.cache_dir = Path(cache_dir)
        self.shape: tuple[int, int, int] = tuple(record["shape"])                      # (H, W, C)
        self.counts: dict[str, int] = {split: int(record["counts"][split]) for split in SPLITS}
        self.classes: tuple[str, ...] = tuple(record["classes"])
        self.kind: str = record["kind"]
        self.image_size: int | None = record["image_size"]

    def is_intact(self) -> bool:
        return all(array_is_intact(self.cache_dir / f"images-{split}.npy", (self.counts[split], *self.shape),
                                   np.uint8)
                   and array_is_intact(self.cache_dir / f"labels-{split}.npy", (self.counts[split],), np.int64)
                   for split in SPLITS)

    def split(self, name: str) -> ImageSet:
        """The images of split ``name`` ("train" or "test"), memory-mapped read-only."""
        if name not in SPLITS:
            raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {name!r}")
        images = np.load(self.cache_dir / f"images-{name}.npy", mmap_mode="r")
        labels = np.load(self.cache_dir / f"labels-{name}.npy", mmap_mode="r")
        return ImageSet(images, labels, self.classes)


def prepare_images(kind: str, root: str | Path, cache_dir: str | Path, *, image_size: int | None = None,
                   progress: Callable[[Iterable], Iterable] | None = None) -> ImageManifest:
    """Read dataset ``kind`` at ``root`` once and cache it in ``cache_dir``; see the module docstring.

    The layout is checked before anything is written; the manifest is written
    last (:meth:`~wavegen.data.cache.CachedManifest.prepare`), so an interrupted
    run is never taken for a finished one.
    """
    root, cache_dir = Path(root), Path(cache_dir)
    files = _source_files(kind, root)                           # checks the layout
    settings = {"kind": kind, "root": str(root.resolve()), "image_size": image_size}

    def build(cache_dir: Path) -> dict:
        log.info("preparing %s from %s into %s", kind, root, cache_dir)
        sets = read_images(kind, root, image_size=image_size, progress=progress)
        for split, image_set in sets.items():
            save_array(cache_dir / f"images-{split}.npy", image_set.images.astype(np.uint8, copy=False))
            save_array(cache_dir / f"labels-{split}.npy", image_set.labels.astype(np.int64, copy=False))
        counts = {split: len(sets[split]) for split in SPLITS}
        log.info("prepared %s: %s images", kind, ", ".join(f"{n} {split}" for split, n in counts.items()))
        return {**settings, "classes": list(sets["train"].classes), "counts": counts,
                "shape": list(sets["train"].images.shape[1:])}

    return ImageManifest.prepare(cache_dir, fingerprint(settings, root, files), build)


def _source_files(kind: str, root: Path) -> list[Path]:
    """Every file dataset ``kind`` is read from (its layout checked on the way)."""
    _check_kind(kind)
    if kind == "folder":
        return [path for files in scan_image_folder(root).files.values() for path in files]
    if kind == "cifar10":
        return batch_paths(root)
    return list(find_idx_files(root, kind).values())


def _check_kind(kind: str) -> None:
    if kind not in IMAGE_DATASETS:
        raise DatasetError(f"unknown image dataset {kind!r}; choose one of {', '.join(IMAGE_DATASETS)}")
