"""CIFAR-10, read from its "python version" batches without trusting the pickles.

Krizhevsky ("Learning Multiple Layers of Features from Tiny Images", 2009;
https://www.cs.toronto.edu/~kriz/cifar.html) distributes CIFAR-10 as
``cifar-10-python.tar.gz``, which unpacks to ``cifar-10-batches-py/``:

* ``data_batch_1`` .. ``data_batch_5`` (training) and ``test_batch``, each a
  pickled dict (written by Python 2, so its keys load as bytes) with ``data``, a
  uint8 array (10000, 3072) whose rows are three 32x32 planes, red, green and
  blue, each row-major, and ``labels``, a list of 10000 ints in 0..9;
* ``batches.meta``, a pickled dict whose ``label_names`` are the ten class names.

A pickle can run any code while it loads, and a dataset is something users
download from the web, so the batches go through :class:`_ArrayUnpickler`: it
builds the objects of the pickle opcodes themselves (dicts, lists, strings,
numbers) and resolves only the few globals numpy arrays need; any other global
is refused before it is imported or called.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from wavegen.data.imageset import ImageSet
from wavegen.data.locate import unpack_hint
from wavegen.errors import DatasetError
from wavegen.words import article, counted

try:
    from numpy._core.multiarray import _reconstruct
    from numpy._core.numeric import _frombuffer
except ImportError:                                    # numpy < 2
    from numpy.core.multiarray import _reconstruct
    from numpy.core.numeric import _frombuffer

TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
META = "batches.meta"
SIDE = 32
CIFAR10_SOURCE = ("CIFAR-10 python version, https://www.cs.toronto.edu/~kriz/cifar.html; "
                  "cifar-10-python.tar.gz unpacks to cifar-10-batches-py")


def _latin1_bytes(text: str, encoding: str) -> bytes:
    """How Python 3 pickles bytes at protocols 0-2: ``_codecs.encode(text, "latin1")``; no other codec."""
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise pickle.UnpicklingError(f"refused _codecs.encode with encoding {encoding!r}")
    return text.encode("latin1")


# Old pickles name numpy.core, numpy 2 writes numpy._core; protocol 5 rebuilds arrays through _frombuffer.
_ALLOWED = {("numpy.core.multiarray", "_reconstruct"): _reconstruct,
            ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
            ("numpy.core.numeric", "_frombuffer"): _frombuffer,
            ("numpy._core.numeric", "_frombuffer"): _frombuffer,
            ("numpy", "ndarray"): np.ndarray,
            ("numpy", "dtype"): np.dtype,
            ("_codecs", "encode"): _latin1_bytes}


class _ArrayUnpickler(pickle.Unpickler):
    """An unpickler that resolves only :data:`_ALLOWED` and refuses every other global, naming the file."""

    def __init__(self, file, path: Path):
        super().__init__(file, encoding="bytes")          # Python 2 str -> bytes, as the CIFAR page advises
        self.path = path

    def find_class(self, module: str, name: str):
        allowed = _ALLOWED.get((module, name))
        if allowed is None:
            raise DatasetError(f"{self.path}: refused to unpickle {module}.{name}: "
                               "CIFAR-10 batches hold only arrays and lists")
        return allowed

    def persistent_load(self, pid):
        raise DatasetError(f"{self.path}: refused a persistent reference: CIFAR-10 batches hold only arrays "
                           "and lists")


def batch_paths(root: str | Path) -> list[Path]:
    """The seven files of ``cifar-10-batches-py`` at ``root`` (five training batches, test, meta)."""
    root = Path(root)
    names = (*TRAIN_BATCHES, TEST_BATCH, META)
    missing = [name for name in names if not (root / name).is_file()]
    if missing:
        problem = (f"{root} is not a folder" if not root.is_dir() else
                   f"{root} has no CIFAR-10 batches" if len(missing) == len(names) else
                   f"{root} lacks {', '.join(missing)}")
        raise DatasetError(f"CIFAR-10 not found: {problem}{unpack_hint(root, *names)}; expected "
                           f"{', '.join(names)} in {root} ({CIFAR10_SOURCE})")
    return [root / name for name in names]


def read_cifar10(root: str | Path, *,
                 progress: Callable[[Iterable], Iterable] | None = None) -> dict[str, ImageSet]:
    """``{"train": 50000 images, "test": 10000}``: uint8 ``(N, 32, 32, 3)`` RGB and int64 labels.

    ``progress`` wraps the loop over the six batches.
    """
    paths = batch_paths(root)
    classes = _read_meta(paths[-1])
    batches = {path.name: _read_batch(path, len(classes)) for path in (progress or iter)(paths[:-1])}
    sets = {}
    for split, names in (("train", TRAIN_BATCHES), ("test", (TEST_BATCH,))):
        images = np.concatenate([batches[name][0] for name in names])
        labels = np.concatenate([batches[name][1] for name in names])
        sets[split] = ImageSet(images, labels, classes)
    return sets


def load_pickle(path: Path) -> object:
    """Unpickle ``path`` with :class:`_ArrayUnpickler`; any failure is a one-line :class:`DatasetError`."""
    try:
        with open(path, "rb") as file:
            return _ArrayUnpickler(file, path).load()
    except DatasetError:
        raise
    except Exception as error:          # a damaged pickle raises nearly anything: EOFError, ValueError, ...
        raise DatasetError(f"{path}: not a readable CIFAR-10 pickle ({type(error).__name__}: {error})") from None


def _read_batch(path: Path, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, 32, 32, 3) uint8, labels (N,) int64) of one batch file, its structure checked."""
    batch = _text_keys(path, load_pickle(path))
    data, labels = batch.get("data"), batch.get("labels")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * SIDE ** 2:
        found = f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise DatasetError(f"{path}: 'data' is {found}, expected a uint8 array (N, {3 * SIDE ** 2})")
    try:
        labels = np.asarray(labels)
    except Exception:
        labels = np.asarray(None)
    if labels.ndim != 1 or labels.dtype.kind not in "iu" or len(labels) != len(data):
        raise DatasetError(f"{path}: 'labels' is not a list of {counted(len(data), 'integer')}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise DatasetError(f"{path}: a label lies outside 0..{num_classes - 1}")
    images = data.reshape(-1, 3, SIDE, SIDE).transpose(0, 2, 3, 1)          # (N, 3, H, W) -> (N, H, W, 3)
    return np.ascontiguousarray(images), labels.astype(np.int64)


def _read_meta(path: Path) -> tuple[str, ...]:
    names = _text_keys(path, load_pickle(path)).get("label_names")
    if not isinstance(names, list) or not names or not all(isinstance(n, (bytes, str)) for n in names):
        raise DatasetError(f"{path}: 'label_names' is not a list of class names")
    return tuple(n.decode("utf-8", "replace") if isinstance(n, bytes) else n for n in names)


def _text_keys(path: Path, record: object) -> dict:
    """The dict ``record`` with bytes keys (Python 2's str) decoded; anything but a dict is refused."""
    if not isinstance(record, dict):
        raise DatasetError(f"{path}: holds {article(type(record).__name__)}, expected a dict of arrays and lists")
    return {key.decode("latin1") if isinstance(key, bytes) else key: value for key, value in record.items()}
