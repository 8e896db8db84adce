"""The dataset cache every reader writes: arrays in a folder, and ``manifest.json`` written last.

A reader (:mod:`~wavegen.data.corpora`, :mod:`~wavegen.data.sc09`,
:mod:`~wavegen.data.voicebank`, :mod:`~wavegen.data.images`) reads a corpus
from its real layout once into ``.npy`` arrays in a cache folder (VoiceBank's
test set as WAV files too), which training then memory-maps. What the readers
share, SpeechBrain/ESPnet style, is here:

* :data:`CACHE_VERSION`, written into every manifest and hashed into every
  fingerprint: raised whenever what a cache holds changes, so that caches of an
  older wavegen are prepared again rather than misread;
* :func:`fingerprint`: a digest of the reader's settings and of every source
  file's path (relative to the corpus root), size and modification time;
* :meth:`CachedManifest.prepare`: reuse the cache when its manifest is valid,
  its fingerprint matches and its arrays are intact; otherwise remove the
  manifest, build the arrays, and write the manifest last and atomically, so an
  interrupted run is never taken for a finished one;
* :func:`read_manifest` and :meth:`CachedManifest.load`: a finished manifest, or
  a one-line :class:`~wavegen.errors.DatasetError` naming the file and what is
  wrong with it;
* :func:`array_output`, :func:`save_array` and :func:`array_is_intact`: arrays
  written beside their place and renamed into it, and checked when reused.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar, Self

import numpy as np

from wavegen.core.files import atomic_output, write_json_atomic
from wavegen.errors import DatasetError

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
# 2: one manifest layout for every reader, fingerprints with modification times (1: each reader its own).
CACHE_VERSION = 2


def fingerprint(settings: dict, root: Path, files: Iterable[Path], extras: Iterable | None = None) -> str:
    """A digest of :data:`CACHE_VERSION`, ``settings`` and each source file's relative path, size and time.

    ``extras``, one JSON value per file (a speaker and transcript, a split), joins
    that file's entry, so a change to what the reader took from the layout also
    changes the fingerprint.
    """
    files = list(files)
    extras = [None] * len(files) if extras is None else list(extras)
    if len(extras) != len(files):
        raise ValueError(f"fingerprint: {len(extras)} extras for {len(files)} files")
    digest = hashlib.sha256(json.dumps({"cache_version": CACHE_VERSION, **settings}, sort_keys=True).encode())
    for path, extra in zip(files, extras):
        stat = Path(path).stat()
        entry = [Path(path).relative_to(root).as_posix(), stat.st_size, stat.st_mtime_ns, extra]
        digest.update(json.dumps(entry).encode())
    return digest.hexdigest()


def read_manifest(cache_dir: str | Path, format: str, what: str) -> dict:
    """The record of the finished ``format`` cache in ``cache_dir``, or a one-line :class:`DatasetError`.

    ``what`` names the dataset in the message ("no finished SC09 cache").
    """
    record, problem = _read_record(Path(cache_dir) / MANIFEST, format)
    if problem:
        raise DatasetError(f"{cache_dir} holds no finished {what} cache: {Path(cache_dir) / MANIFEST} "
                           f"{problem}; run the prepare stage first")
    return record


def _read_record(path: Path, format: str) -> tuple[dict | None, str | None]:
    """(the manifest at ``path``, None) if it is a finished ``format`` cache's, else (None, what is wrong)."""
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        return None, "does not exist"
    except OSError as error:
        return None, f"is unreadable ({error.strerror or error})"
    except ValueError as error:
        return None, f"is not valid JSON ({error})"
    if not isinstance(record, dict):
        return None, f"holds a JSON {type(record).__name__}, not a cache manifest"
    if record.get("format") != format:
        return None, f"is a {record.get('format')!r} cache, not {format!r}"
    if record.get("version") != CACHE_VERSION:
        return None, (f"was written with cache format version {record.get('version')!r}, this wavegen reads "
                      f"version {CACHE_VERSION} (prepare it again)")
    if not isinstance(record.get("fingerprint"), str):
        return None, "has no fingerprint of its source files"
    return record, None


class CachedManifest:
    """Base of the readers' manifests: the record of a finished cache, loaded or prepared.

    A subclass sets :attr:`FORMAT` (the manifest's ``format``) and :attr:`WHAT`
    (the dataset named in messages), and overrides :meth:`from_record` when its
    constructor does not take ``(cache_dir, record)`` and :meth:`is_intact` to
    check the files the record describes.
    """

    FORMAT: ClassVar[str] = ""
    WHAT: ClassVar[str] = ""

    @classmethod
    def from_record(cls, cache_dir: Path, record: dict) -> Self:
        return cls(cache_dir, record)

    def is_intact(self) -> bool:
        """Whether the cached files are there and of the size the record says."""
        return True

    @classmethod
    def load(cls, cache_dir: str | Path) -> Self:
        """The manifest of a finished cache in ``cache_dir``; a one-line :class:`DatasetError` if there is none."""
        return cls.from_record(Path(cache_dir), read_manifest(cache_dir, cls.FORMAT, cls.WHAT))

    @classmethod
    def prepare(cls, cache_dir: str | Path, fingerprint: str, build: Callable[[Path], dict]) -> Self:
        """The cache in ``cache_dir`` if finished with this ``fingerprint`` and intact, else built afresh.

        ``build(cache_dir)`` writes the cached files and returns the rest of the
        record; the manifest is removed before it runs and written after it
        returns, atomically, so an interrupted build leaves no finished cache.
        """
        cache_dir = Path(cache_dir)
        record, problem = _read_record(cache_dir / MANIFEST, cls.FORMAT)
        if record is not None and record["fingerprint"] != fingerprint:
            problem = "was written for other source files or settings"
        elif record is not None:
            manifest = cls._intact(cache_dir, record)
            if manifest is not None:
                log.info("%s cache at %s is up to date", cls.WHAT, cache_dir)
                return manifest
            problem = "describes files that are missing or damaged"
        if problem != "does not exist":
            log.info("preparing the %s cache at %s again: %s %s", cls.WHAT, cache_dir, MANIFEST, problem)
        cache_dir.mkdir(parents=True, exist_ok=True)
        (cache_dir / MANIFEST).unlink(missing_ok=True)
        record = {**build(cache_dir), "format": cls.FORMAT, "version": CACHE_VERSION, "fingerprint": fingerprint}
        write_json_atomic(cache_dir / MANIFEST, record)
        return cls.from_record(cache_dir, record)

    @classmethod
    def _intact(cls, cache_dir: Path, record: dict) -> Self | None:
        """The manifest of ``record`` if its files are intact; None if not (or the record is malformed)."""
        try:
            manifest = cls.from_record(cache_dir, record)
            return manifest if manifest.is_intact() else None
        except (KeyError, TypeError, ValueError, IndexError):
            return None


# ---------------------------------------------------------------- arrays

@contextmanager
def array_output(path: Path, shape: tuple[int, ...], dtype: np.dtype | type = np.int16) -> Iterator[np.ndarray]:
    """A writable ``.npy`` memory map of ``shape`` beside ``path``, renamed to ``path`` once the block ends.

    On an exception the partial file is removed and ``path`` is left as it was.
    """
    with atomic_output(path) as temporary:
        array = np.lib.format.open_memmap(temporary, mode="w+", dtype=dtype, shape=tuple(shape))
        yield array
        array.flush()
        del array


def save_array(path: Path, array: np.ndarray) -> None:
    """``np.save`` to ``path`` atomically."""
    with atomic_output(path) as temporary:
        np.save(temporary, array)


def array_is_intact(path: Path, shape: tuple[int, ...], dtype: np.dtype | type = np.int16) -> bool:
    """Whether ``path`` holds a ``.npy`` array of ``shape`` and ``dtype`` (not truncated or replaced)."""
    try:
        packed = np.load(path, mmap_mode="r")
    except (OSError, ValueError):
        return False
    return packed.dtype == np.dtype(dtype) and packed.shape == tuple(shape)
