"""A folder of images (CelebA, a class-per-folder set, your own photos), read through Pillow.

Layouts, decided from the folder itself:

* ``root/train/...`` and ``root/test/...`` when both exist: those are the splits;
* otherwise every image under ``root``, split by a hash of its path relative to
  ``root`` (:func:`is_test_path`: about 10 % test). The hash, unlike a seeded
  shuffle, keeps an image in its split when others are added or removed.

Within the split roots, two or more subfolders holding images, and no image
directly in the split root, make a labelled set: one class per subfolder (its
images at any depth), class names sorted. Anything else (CelebA's single
``img_align_celeba/`` folder, loose files) is unlabelled: label -1 for every
image, no class names.

Each image is converted to RGB, centre-cropped to a square and resized with
Lanczos filtering to ``image_size`` square, the usual preparation for DCGAN-style
models on CelebA (Radford, Metz and Chintala, arXiv:1511.06434, 2015).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from wavegen.data.imageset import SPLITS, ImageSet
from wavegen.errors import DatasetError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
DEFAULT_IMAGE_SIZE = 64
TEST_PERCENT = 10
_EXPECTED = ("expected image files (.png, .jpg, .jpeg, .bmp, .webp) under {root}: in train/ and test/ folders, "
             "or anywhere below it (10 % then held out for test); one subfolder per class for labels")


@dataclass(frozen=True)
class FolderImages:
    """What :func:`scan_image_folder` found: the files of each split, their labels, the class names."""
    files: dict[str, list[Path]]
    labels: dict[str, list[int]]
    classes: tuple[str, ...]


def scan_image_folder(root: str | Path) -> FolderImages:
    """The image files under ``root`` by split, sorted by path, with labels; no image is opened."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"image folder not found: {root} is not a folder; {_EXPECTED.format(root=root)}")
    if (root / "train").is_dir() and (root / "test").is_dir():
        split_roots = {split: root / split for split in SPLITS}
        found = {split: _image_files(split_root) for split, split_root in split_roots.items()}
        if not found["train"]:
            raise DatasetError(f"{root / 'train'} holds no images; {_EXPECTED.format(root=root)}")
    else:
        every = _image_files(root)
        split_roots = {split: root for split in SPLITS}
        found = {split: [p for p in every if is_test_path(p.relative_to(root)) == (split == "test")]
                 for split in SPLITS}
    if not any(found.values()):
        raise DatasetError(f"{root} holds no images; {_EXPECTED.format(root=root)}")
    relative = {split: [p.relative_to(split_roots[split]) for p in found[split]] for split in SPLITS}
    parts = [r.parts for split in SPLITS for r in relative[split]]
    folders = sorted({p[0] for p in parts if len(p) > 1})
    labelled = len(folders) >= 2 and all(len(p) > 1 for p in parts)
    classes = tuple(folders) if labelled else ()
    index = {name: k for k, name in enumerate(classes)}
    labels = {split: [index[r.parts[0]] if labelled else -1 for r in relative[split]] for split in SPLITS}
    return FolderImages(found, labels, classes)


def read_image_folder(root: str | Path, *, image_size: int | None = None,
                      progress: Callable[[Iterable], Iterable] | None = None) -> dict[str, ImageSet]:
    """``{"train": ..., "test": ...}``: uint8 RGB ``(N, S, S, 3)``, S = ``image_size`` (default 64).

    ``progress`` wraps the loop over all image files.
    """
    size = DEFAULT_IMAGE_SIZE if image_size is None else image_size
    if size < 1:
        raise DatasetError(f"image size must be at least 1, got {size}")
    scan = scan_image_folder(root)
    images = {split: np.zeros((len(scan.files[split]), size, size, 3), dtype=np.uint8) for split in SPLITS}
    jobs = [(split, row, path) for split in SPLITS for row, path in enumerate(scan.files[split])]
    for split, row, path in (progress or iter)(jobs):
        images[split][row] = load_square_image(path, size)
    return {split: ImageSet(images[split], np.asarray(scan.labels[split], dtype=np.int64), scan.classes)
            for split in SPLITS}


def load_square_image(path: str | Path, size: int) -> np.ndarray:
    """One image file as uint8 RGB ``(size, size, 3)``: centre square, Lanczos-resized."""
    try:
        with Image.open(path) as image:
            rgb = image.convert("RGB")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        # UnidentifiedImageError and truncated files are OSErrors; some decoders raise the others.
        raise DatasetError(f"{path}: not a readable image ({error})") from None
    width, height = rgb.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    square = rgb.crop((left, top, left + side, top + side))
    return np.asarray(square.resize((size, size), Image.LANCZOS), dtype=np.uint8)


def is_test_path(relative: Path) -> bool:
    """Whether an image goes to the test split: the SHA-1 of its relative path, mod 100, below 10."""
    digest = hashlib.sha1(relative.as_posix().encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % 100 < TEST_PERCENT


def _image_files(folder: Path) -> list[Path]:
    """Image files under ``folder`` at any depth, sorted, skipping hidden files and folders."""
    files = (p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    return sorted(p for p in files if not any(part.startswith(".") for part in p.relative_to(folder).parts))
