"""The embedded image demo: scikit-learn's handwritten digits, written as MNIST, read by :mod:`wavegen.data.mnist`.

scikit-learn ships the test set of the UCI "Optical Recognition of Handwritten
Digits" data (Alpaydin and Kaynak, 1998) in its package: 1,797 digits, 8x8
pixels with values 0..16 (``sklearn.datasets.load_digits``; nothing is
downloaded). :func:`write_digits_demo` brings them to MNIST's normalisation
(LeCun, Bottou, Bengio and Haffner, "Gradient-Based Learning Applied to Document
Recognition", Proc. IEEE 1998, section III.A; http://yann.lecun.com/exdb/mnist/):
grey levels 0..255, the digit size-normalised to a 20x20 box (here a bicubic
upscale, since the 8x8 digits already fill their box) and centred in a 28x28
image, so a 4-pixel border of zeros. The split is a seeded permutation of each
class, so train and test hold every class in the same proportion, and the four
files are written gzipped under MNIST's own names.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PIL import Image

from wavegen.core.files import write_text_atomic
from wavegen.data.mnist import SPLIT_FILES, write_idx
from wavegen.errors import DatasetError

log = logging.getLogger(__name__)

BOX = 20                 # MNIST's size-normalised digit box
SIDE = 28                # MNIST's image side: the box centred with a 4-pixel border
_TITLE = "wavegen digits demo"
_README = f"""{_TITLE}

Handwritten digits from scikit-learn's bundled copy of the UCI "Optical
Recognition of Handwritten Digits" data (sklearn.datasets.load_digits, 1,797
8x8 images), scaled to 0..255, resized to 20x20 (bicubic) and centred in 28x28
as MNIST's digits are, then split {{train}} train / {{test}} test per class with
seed {{seed}}. The four files are in MNIST's idx format and names, gzipped, so
wavegen's MNIST reader reads this folder as it reads the real MNIST
(http://yann.lecun.com/exdb/mnist/). Written by
wavegen.data.digits_demo.write_digits_demo; safe to delete.
"""


def write_digits_demo(root: str | Path, *, seed: int = 0, test_fraction: float = 0.2) -> Path:
    """Write the demo's four gzipped idx files and a README.txt into ``root``; returns ``root``.

    Deterministic for a seed: the same arguments give byte-identical files. A
    folder holding MNIST files that this function did not write is refused.
    """
    root = Path(root)
    if not 0 < test_fraction < 1:
        raise DatasetError(f"digits demo: test_fraction must lie strictly between 0 and 1, got {test_fraction}")
    targets = [root / f"{name}.gz" for pair in SPLIT_FILES.values() for name in pair]
    readme = root / "README.txt"
    ours = readme.is_file() and readme.read_text(errors="replace").startswith(_TITLE)
    if any(path.exists() for path in targets) and not ours:
        raise DatasetError(f"{root} already holds MNIST files that the digits demo did not write; "
                           "choose another folder for the demo")
    from sklearn.datasets import load_digits
    digits = load_digits()
    images = mnist_normalise(digits.images)                                  # (1797, 28, 28)
    labels = digits.target.astype(np.uint8)
    train, test = stratified_split(labels, test_fraction, seed)
    for split, rows in (("train", train), ("test", test)):
        images_name, labels_name = SPLIT_FILES[split]
        write_idx(root / f"{images_name}.gz", images[rows])
        write_idx(root / f"{labels_name}.gz", labels[rows])
    write_text_atomic(readme, _README.format(train=len(train), test=len(test), seed=seed))
    log.info("wrote the digits demo (%d train, %d test) to %s", len(train), len(test), root)
    return root


def mnist_normalise(images: np.ndarray, max_value: float = 16.0) -> np.ndarray:
    """Digits ``(N, h, w)`` in 0..max_value -> uint8 ``(N, 28, 28)``: 0..255, bicubic to 20x20, centred."""
    border = (SIDE - BOX) // 2
    out = np.zeros((len(images), SIDE, SIDE), dtype=np.uint8)
    for row, image in enumerate(np.asarray(images, dtype=np.float32) * (255.0 / max_value)):
        box = np.asarray(Image.fromarray(image).resize((BOX, BOX), Image.BICUBIC))
        out[row, border:border + BOX, border:border + BOX] = np.clip(np.round(box), 0, 255)
    return out


def stratified_split(labels: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, test rows): each class's rows permuted with ``seed`` and cut at ``test_fraction``.

    Each split is then shuffled, so its files are not grouped by class (MNIST's are not).
    """
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == label))
        cut = min(max(1, round(len(rows) * test_fraction)), len(rows) - 1)
        test.append(rows[:cut])
        train.append(rows[cut:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))
