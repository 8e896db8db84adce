"""The type every image reader returns, one split of a dataset in memory, and the resize they share.

The readers (:mod:`~wavegen.data.mnist` for MNIST's idx files,
:mod:`~wavegen.data.cifar10` for CIFAR-10's python batches,
:mod:`~wavegen.data.folders` for a folder of image files) each read a real
layout into an :class:`ImageSet` per split, "train" and "test";
:mod:`wavegen.data.images` picks the reader and caches what it read.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from wavegen.errors import DatasetError

SPLITS = ("train", "test")


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


def resize_images(images: np.ndarray, size: int) -> np.ndarray:
    """Square uint8 images ``(N, H, W, C)`` resized to ``(N, size, size, C)`` with Pillow's Lanczos filter."""
    if size < 1:
        raise DatasetError(f"image size must be at least 1, got {size}")
    if images.shape[1:3] == (size, size):
        return images
    out = np.empty((len(images), size, size, images.shape[3]), dtype=np.uint8)
    for row, image in enumerate(images):
        picture = Image.fromarray(image[..., 0] if image.shape[2] == 1 else image)
        out[row] = np.asarray(picture.resize((size, size), Image.LANCZOS)).reshape(size, size, -1)
    return out
