"""MNIST and Fashion-MNIST, read from their idx files.

LeCun, Cortes and Burges distribute MNIST (http://yann.lecun.com/exdb/mnist/)
as four files, ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, usually gzipped.
Fashion-MNIST (Xiao, Rasul and Vollgraf, arXiv:1708.07747, 2017;
https://github.com/zalandoresearch/fashion-mnist) uses the same names and format.
The idx format, as the MNIST page describes it:

* a 4-byte magic number: two zero bytes, a type code (0x08: unsigned byte) and
  the number of dimensions;
* one big-endian int32 per dimension;
* the values, row-major (C order), one byte each for type 0x08.

The files are looked for plain or with ``.gz`` in ``root`` and in ``root/raw``
(where torchvision's ``MNIST(root)`` keeps them). Nothing is downloaded.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from wavegen.core.files import atomic_output
from wavegen.data.imageset import ImageSet
from wavegen.data.locate import unpack_hint
from wavegen.errors import DatasetError
from wavegen.words import counted

SPLIT_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
               "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
IDX_FILES = tuple(name for pair in SPLIT_FILES.values() for name in pair)
UBYTE = 0x08
CLASSES = {"mnist": tuple(str(digit) for digit in range(10)),
           "fashion-mnist": ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                             "Bag", "Ankle boot"),
           "digits": tuple(str(digit) for digit in range(10))}
SOURCES = {"mnist": "MNIST, http://yann.lecun.com/exdb/mnist/",
           "fashion-mnist": "Fashion-MNIST, https://github.com/zalandoresearch/fashion-mnist",
           "digits": "the digits demo, written by wavegen.data.digits_demo.write_digits_demo"}
_NAMES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST", "digits": "digits demo"}


def find_idx_files(root: str | Path, kind: str = "mnist") -> dict[str, Path]:
    """The path of each of :data:`IDX_FILES` under ``root`` (plain or .gz, in root or root/raw)."""
    root = Path(root)
    _check_kind(kind)
    found = {}
    for name in IDX_FILES:
        candidates = (folder / f"{name}{suffix}" for folder in (root, root / "raw") for suffix in ("", ".gz"))
        path = next((p for p in candidates if p.is_file()), None)
        if path is not None:
            found[name] = path
    if len(found) < len(IDX_FILES):
        missing = [name for name in IDX_FILES if name not in found]
        problem = (f"{root} is not a folder" if not root.is_dir() else
                   f"{root} has none of its idx files" if len(missing) == len(IDX_FILES) else
                   f"{root} lacks {', '.join(missing)}")
        markers = [f"{name}{suffix}" for name in IDX_FILES for suffix in ("", ".gz")] + ["raw"]
        raise DatasetError(f"{_NAMES[kind]} not found: {problem}{unpack_hint(root, *markers)}; expected "
                           f"{', '.join(IDX_FILES)} (each plain or .gz) in {root} or {root / 'raw'} "
                           f"({SOURCES[kind]})")
    return found


def read_mnist(root: str | Path, kind: str = "mnist", *,
               progress: Callable[[Iterable], Iterable] | None = None) -> dict[str, ImageSet]:
    """``{"train": ..., "test": ...}``: uint8 images ``(N, 28, 28, 1)`` and int64 labels.

    ``kind`` ("mnist", "fashion-mnist" or "digits") only picks the class names
    and the source named in errors. ``progress`` wraps the loop over splits.
    """
    paths = find_idx_files(root, kind)
    classes = CLASSES[kind]
    sets = {}
    for split in (progress or iter)(list(SPLIT_FILES)):
        images_name, labels_name = SPLIT_FILES[split]
        images = read_idx(paths[images_name], ndim=3)                        # (N, H, W)
        labels = read_idx(paths[labels_name], ndim=1)                        # (N,)
        if len(images) != len(labels):
            raise DatasetError(f"{paths[labels_name]}: {counted(len(labels), 'label')} for the "
                               f"{counted(len(images), 'image')} of {paths[images_name].name}")
        if labels.size and labels.max() >= len(classes):
            raise DatasetError(f"{paths[labels_name]}: label {labels.max()} is not one of the "
                               f"{counted(len(classes), 'class')} of {_NAMES[kind]}")
        sets[split] = ImageSet(images[..., None], labels.astype(np.int64), classes)
    return sets


def read_idx(path: str | Path, ndim: int | None = None) -> np.ndarray:
    """The unsigned-byte array in an idx file (gzipped when its name ends in .gz), checked whole."""
    path = Path(path)
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rb") as stream:
                data = stream.read()
        else:
            data = path.read_bytes()
    except (OSError, EOFError, zlib.error) as error:   # BadGzipFile is an OSError
        raise DatasetError(f"{path}: not a readable idx file ({error})") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DatasetError(f"{path}: not an idx file (magic number {data[:4].hex() or 'missing'}, "
                           "expected 0000 then type and dimensions)")
    if data[2] != UBYTE:
        raise DatasetError(f"{path}: idx type code 0x{data[2]:02x}, expected 0x08 (unsigned byte)")
    dims = data[3]
    if ndim is not None and dims != ndim:
        raise DatasetError(f"{path}: {counted(dims, 'dimension')}, expected {ndim}")
    header = 4 + 4 * dims
    if len(data) < header:
        raise DatasetError(f"{path}: truncated idx header ({counted(len(data), 'byte')})")
    shape = tuple(int(n) for n in np.frombuffer(data, dtype=">i4", count=dims, offset=4))
    expected = int(np.prod(shape, dtype=np.int64))
    if len(data) - header != expected:
        state = "truncated" if len(data) - header < expected else "longer than its header says"
        raise DatasetError(f"{path}: {state}: {counted(len(data) - header, 'byte')} of values for shape {shape} "
                           f"({expected} expected)")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def write_idx(path: str | Path, array: np.ndarray) -> Path:
    """Write a uint8 array as an idx file, gzipped when ``path`` ends in .gz, atomically.

    The gzip header carries no time stamp, so equal arrays give identical files.
    """
    path, array = Path(path), np.ascontiguousarray(array)
    if array.dtype != np.uint8 or not 1 <= array.ndim <= 255:
        raise ValueError(f"write_idx takes a uint8 array of 1..255 dimensions, got {array.dtype} {array.shape}")
    payload = bytes([0, 0, UBYTE, array.ndim]) + np.asarray(array.shape, dtype=">i4").tobytes() + array.tobytes()
    with atomic_output(path) as temporary, open(temporary, "wb") as raw:
        if path.name.endswith(".gz"):
            with gzip.GzipFile(filename=path.name, mode="wb", fileobj=raw, mtime=0) as stream:
                stream.write(payload)
        else:
            raw.write(payload)
    return path


def _check_kind(kind: str) -> None:
    if kind not in CLASSES:
        raise ValueError(f"kind must be one of {', '.join(CLASSES)}, got {kind!r}")
