"""Image datasets: one type for every reader, one dispatcher, and the cache the vision recipes train from.

Each reader (:mod:`~wavegen.data.mnist`, :mod:`~wavegen.data.cifar10`,
:mod:`~wavegen.data.folders`) reads a dataset's real layout into an
:class:`ImageSet` per split, "train" and "test". ``digits`` is the embedded demo
(:mod:`~wavegen.data.digits_demo`), written in MNIST's layout and read by the
MNIST reader.

:func:`prepare_images` reads a dataset once and caches it as ``.npy`` arrays
(``images-<split>.npy`` uint8 ``(N, H, W, C)``, ``labels-<split>.npy`` int64),
with ``manifest.json`` written last, the pattern of
:func:`wavegen.data.sc09.prepare_sc09`: a later call finds the finished cache,
checks the arrays and the source files' sizes and times, and reads nothing else.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wavegen.core.files import atomic_output, write_json_atomic
from wavegen.data.packed import packed_array_is_intact, read_manifest
from wavegen.errors import DatasetError

log = logging.getLogger(__name__)

IMAGE_DATASETS = ("mnist", "fashion-mnist", "cifar10", "folder", "digits")
SPLITS = ("train", "test")
_MANIFEST = "manifest.json"
_FORMAT = "wavegen.images"
_VERSION = 1


@dataclass(frozen=True)
class ImageSet:
    """The images of one split: uint8 ``(N, H, W, C)`` with C = 1 (grey) or 3 (RGB), int64 labels ``(N,)``.

    ``labels`` are indices into ``classes``; an unlabelled set has label -1 for every
    image and ``classes == ()``.
    """
    images: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.images)


# ---------------------------------------------------------------- reading

def read_images(kind: str, root: str | Path, *, image_size: int | None = None,
                progress: Callable[[Iterable], Iterable] | None = None) -> dict[str, ImageSet]:
    """``{"train": ..., "test": ...}`` of dataset ``kind`` (one of :data:`IMAGE_DATASETS`) at ``root``.

    ``image_size`` resizes every image to that square (Lanczos); None keeps
    MNIST's 28 and CIFAR-10's 32, and gives 64 for a folder.
    """
    _check_kind(kind)
    if kind == "folder":
        from wavegen.data.folders import read_image_folder
        return read_image_folder(root, image_size=image_size, progress=progress)
    if kind == "cifar10":
        from wavegen.data.cifar10 import read_cifar10
        sets = read_cifar10(root, progress=progress)
    else:
        from wavegen.data.mnist import read_mnist
        sets = read_mnist(root, kind, progress=progress)
    if image_size is None:
        return sets
    return {split: ImageSet(resize_images(s.images, image_size), s.labels, s.classes) for split, s in sets.items()}


def check_image_layout(kind: str, root: str | Path) -> None:
    """Raise :class:`DatasetError` if ``root`` does not hold dataset ``kind``; lists files, opens none."""
    _source_files(kind, Path(root))


def resize_images(images: np.ndarray, size: int) -> np.ndarray:
    """Square uint8 images ``(N, H, W, C)`` resized to ``(N, size, size, C)`` with Pillow's Lanczos filter."""
    from PIL import Image
    if size < 1:
        raise DatasetError(f"image size must be at least 1, got {size}")
    if images.shape[1:3] == (size, size):
        return images
    out = np.empty((len(images), size, size, images.shape[3]), dtype=np.uint8)
    for row, image in enumerate(images):
        picture = Image.fromarray(image[..., 0] if image.shape[2] == 1 else image)
        out[row] = np.asarray(picture.resize((size, size), Image.LANCZOS)).reshape(size, size, -1)
    return out


# ---------------------------------------------------------------- the cache

class ImageManifest:
    """What :func:`prepare_images` cached: per split, ``images-<split>.npy`` and ``labels-<split>.npy``."""

    def __init__(self, cache_dir: str | Path, record: dict):
        self.cache_dir = Path(cache_dir)
        self.kind: str = record["kind"]
        self.image_size: int | None = record["image_size"]
        self.classes: tuple[str, ...] = tuple(record["classes"])
        self.counts: dict[str, int] = {split: int(record["counts"][split]) for split in SPLITS}
        self.shape: tuple[int, int, int] = tuple(record["shape"])                      # (H, W, C)

    @classmethod
    def load(cls, cache_dir: str | Path) -> ImageManifest:
        """Read the manifest of a finished :func:`prepare_images` run."""
        record = read_manifest(Path(cache_dir) / _MANIFEST, _FORMAT, _VERSION)
        if record is None:
            raise DatasetError(f"{cache_dir} holds no finished image cache (no valid {_MANIFEST}); "
                               "run the prepare stage first")
        return cls(cache_dir, record)

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

    The layout is checked before anything is written. The manifest is removed
    before and written after any rebuild, so an interrupted run is never taken
    for a finished one.
    """
    root, cache_dir = Path(root), Path(cache_dir)
    fingerprint = _fingerprint(kind, root)                      # checks the layout
    settings = {"kind": kind, "root": str(root.resolve()), "image_size": image_size}
    record = read_manifest(cache_dir / _MANIFEST, _FORMAT, _VERSION)
    if (record is not None and all(record.get(key) == value for key, value in settings.items())
            and record.get("fingerprint") == fingerprint and _arrays_are_intact(cache_dir, record)):
        log.info("image cache at %s is up to date", cache_dir)
        return ImageManifest(cache_dir, record)
    cache_dir.mkdir(parents=True, exist_ok=True)
    (cache_dir / _MANIFEST).unlink(missing_ok=True)
    log.info("preparing %s from %s into %s", kind, root, cache_dir)
    sets = read_images(kind, root, image_size=image_size, progress=progress)
    for split, image_set in sets.items():
        _save_array(cache_dir / f"images-{split}.npy", image_set.images.astype(np.uint8, copy=False))
        _save_array(cache_dir / f"labels-{split}.npy", image_set.labels.astype(np.int64, copy=False))
    record = {"format": _FORMAT, "version": _VERSION, **settings, "fingerprint": fingerprint,
              "classes": list(sets["train"].classes), "counts": {split: len(sets[split]) for split in SPLITS},
              "shape": list(sets["train"].images.shape[1:])}
    write_json_atomic(cache_dir / _MANIFEST, record)
    log.info("prepared %s: %s images", kind, ", ".join(f"{n} {split}" for split, n in record["counts"].items()))
    return ImageManifest(cache_dir, record)


def _save_array(path: Path, array: np.ndarray) -> None:
    with atomic_output(path) as temporary:
        np.save(temporary, array)


def _arrays_are_intact(cache_dir: Path, record: dict) -> bool:
    try:
        counts, shape = record["counts"], tuple(record["shape"])
        return all(packed_array_is_intact(cache_dir / f"images-{split}.npy", (counts[split], *shape), np.uint8)
                   and packed_array_is_intact(cache_dir / f"labels-{split}.npy", (counts[split],), np.int64)
                   for split in SPLITS)
    except (KeyError, TypeError):
        return False


def _source_files(kind: str, root: Path) -> list[Path]:
    """Every file dataset ``kind`` is read from (its layout checked on the way)."""
    _check_kind(kind)
    if kind == "folder":
        from wavegen.data.folders import scan_image_folder
        return [path for files in scan_image_folder(root).files.values() for path in files]
    if kind == "cifar10":
        from wavegen.data.cifar10 import batch_paths
        return batch_paths(root)
    from wavegen.data.mnist import find_idx_files
    return list(find_idx_files(root, kind).values())


def _fingerprint(kind: str, root: Path) -> str:
    """A digest of the source files' relative paths, sizes and modification times."""
    digest = hashlib.sha256(kind.encode())
    for path in _source_files(kind, root):
        stat = path.stat()
        digest.update(json.dumps([path.relative_to(root).as_posix(), stat.st_size, stat.st_mtime_ns]).encode())
    return digest.hexdigest()


def _check_kind(kind: str) -> None:
    if kind not in IMAGE_DATASETS:
        raise DatasetError(f"unknown image dataset {kind!r}; choose one of {', '.join(IMAGE_DATASETS)}")
