"""SC09: the spoken digits of Speech Commands, read from the real layout and packed for WaveGAN.

Donahue, McAuley and Puckette ("Adversarial Audio Synthesis", ICLR 2019,
section 6) train WaveGAN and SpecGAN on SC09: the ten words "zero" .. "nine" of
Speech Commands (Warden, "Speech Commands: A Dataset for Limited-Vocabulary
Speech Recognition", arXiv:1804.03209, 2018), one-second 16 kHz clips zero-padded
to 16384 samples. Nothing is downloaded; the reader takes v0.02 as unpacked:

* one folder per word (35 words; only the ten digit folders are read, the others
  and ``_background_noise_`` are left alone), files ``<word>/<speaker>_nohash_<n>.wav``
  with an 8-hex-digit speaker id and a repetition number, 16 kHz 16-bit mono, at
  most one second;
* ``validation_list.txt`` and ``testing_list.txt`` at the root, one relative path
  (``right/bb05582b_nohash_0.wav``) a line; every clip in neither is training. The
  lists split by speaker (a hash of the speaker id, ``which_set`` in TensorFlow's
  speech_commands example), so no speaker is in two splits.

:func:`prepare_sc09` reads every digit clip once, as mono 16 kHz whatever it is
stored as, pads it with zeros at the end or trims it to :data:`CLIP_SAMPLES` (as
WaveGAN's loader does), and packs the clips into one int16 array ``clips.npy`` of
shape ``(N, 16384)``, each split a contiguous block, with ``manifest.json``
written last (:mod:`wavegen.data.cache`, shared by every reader).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from wavegen.data.cache import CachedManifest, array_is_intact, fingerprint
from wavegen.data.locate import unpack_hint
from wavegen.data.packed import from_int16, pack_resampled
from wavegen.errors import AudioFileError, DatasetError

log = logging.getLogger(__name__)

DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
SAMPLE_RATE = 16_000
CLIP_SAMPLES = 16_384                  # WaveGAN's slice length: 2**14 samples, just over a second
SPLITS = ("train", "validation", "test")
SPLIT_LISTS = {"validation": "validation_list.txt", "test": "testing_list.txt"}
SC09_SOURCE = ("SC09 is the ten digit folders of Speech Commands v0.02, "
               "http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz")
_CLIPS = "clips.npy"


@dataclass(frozen=True)
class SC09Clip:
    """One digit recording: its file, word, label (the digit's value), speaker id and split."""
    path: Path
    word: str
    label: int
    speaker: str
    split: str


# ---------------------------------------------------------------- the reader

def scan_sc09(root: str | Path) -> list[SC09Clip]:
    """The digit clips of Speech Commands at ``root``, by label then file name, with their splits."""
    root = Path(root)
    expected = (f"expected {root}/<word>/<speaker>_nohash_<n>.wav for the words {DIGITS[0]}..{DIGITS[-1]}, "
                f"with {SPLIT_LISTS['validation']} and {SPLIT_LISTS['test']} at the root ({SC09_SOURCE})")
    if not root.is_dir():
        raise DatasetError(f"SC09 not found: {root} is not a folder{unpack_hint(root, *DIGITS)}; {expected}")
    missing = [word for word in DIGITS if not (root / word).is_dir()]
    if len(missing) == len(DIGITS):
        raise DatasetError(f"SC09 not found: {root} has no digit folders{unpack_hint(root, *DIGITS)}; "
                           f"{expected}")
    if missing:
        raise DatasetError(f"SC09 at {root} is missing the digit folder(s) {', '.join(missing)}; {expected}")
    files = {word: sorted(p.name for p in (root / word).glob("*.wav") if not p.name.startswith("."))
             for word in DIGITS}
    empty = [word for word, names in files.items() if not names]
    if empty:
        raise DatasetError(f"SC09 at {root}: the digit folder(s) {', '.join(empty)} hold no .wav files; "
                           f"{expected}")
    present = {f"{word}/{name}" for word, names in files.items() for name in names}
    splits = {}
    for split, list_name in SPLIT_LISTS.items():
        for relative in _read_split_list(root, list_name, expected):
            if relative.split("/")[0] not in DIGITS:
                continue                          # the other 25 words are not SC09
            if relative not in present:
                raise DatasetError(f"SC09 at {root}: {list_name} names {relative}, which is not there; "
                                   f"{expected}")
            if splits.setdefault(relative, split) != split:
                raise DatasetError(f"SC09 at {root}: {relative} is in both {SPLIT_LISTS['validation']} and "
                                   f"{SPLIT_LISTS['test']}; {expected}")
    return [SC09Clip(root / word / name, word, label, name.partition("_nohash_")[0].removesuffix(".wav"),
                     splits.get(f"{word}/{name}", "train"))
            for label, word in enumerate(DIGITS) for name in files[word]]


def _read_split_list(root: Path, list_name: str, expected: str) -> list[str]:
    """The relative paths in one split list (blank lines skipped, ``./`` and backslashes tolerated)."""
    path = root / list_name
    if not path.is_file():
        raise DatasetError(f"SC09 at {root} has no {list_name}{unpack_hint(root, list_name)}; {expected}")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise DatasetError(f"SC09 at {root}: {list_name} is unreadable ({error}); {expected}") from None
    entries = (line.strip().replace("\\", "/") for line in lines)
    return [entry.removeprefix("./") for entry in entries if entry]


def check_sc09_layout(root: str | Path) -> list[SC09Clip]:
    """The layout check for :func:`wavegen.data.locate.locate_corpus`: a directory scan, no audio read."""
    return scan_sc09(root)


# ---------------------------------------------------------------- the packed cache

class SC09Manifest(CachedManifest):
    """What :func:`prepare_sc09` cached: ``clips.npy`` (N, 16384) int16 and, per row, word, speaker, split."""

    FORMAT = "wavegen.sc09"
    WHAT = "SC09"

    def __init__(self, cache_dir: str | Path, record: dict):
        self.cache_dir = Path(cache_dir)
        self.words: tuple[str, ...] = tuple(record["words"])
        self.sample_rate: int = record["sample_rate"]
        self.names: list[str] = [row[0] for row in record["clips"]]        # "seven/0a2b400e_nohash_1"
        self.speakers: list[str] = [row[1] for row in record["clips"]]
        self._labels = np.array([row[2] for row in record["clips"]], dtype=np.int64)
        self.counts: dict[str, int] = {split: int(record["counts"][split]) for split in SPLITS}
        starts = np.cumsum([0] + [self.counts[split] for split in SPLITS])
        self._rows = {split: (int(starts[i]), int(starts[i + 1])) for i, split in enumerate(SPLITS)}
        self._packed: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.names)

    def rows(self, split: str) -> range:
        """The rows of ``clips.npy`` holding ``split`` (splits are contiguous, in :data:`SPLITS` order)."""
        if split not in SPLITS:
            raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
        return range(*self._rows[split])

    def labels(self, split: str) -> np.ndarray:
        """The digit of each clip of ``split``, int64 ``(N,)``."""
        rows = self.rows(split)
        return self._labels[rows.start:rows.stop]

    def audio(self, split: str) -> np.ndarray:
        """Every clip of ``split`` as float32 ``(N, 16384)`` in [-1, 1], read through the memory map.

        The float copy takes 64 KiB a clip (about 2 GB for SC09's training split).
        """
        rows = self.rows(split)
        return from_int16(self.packed()[rows.start:rows.stop])

    def is_intact(self) -> bool:
        return array_is_intact(self.cache_dir / _CLIPS, (len(self.names), CLIP_SAMPLES))

    def clips(self, split: str) -> SC09Clips:
        return SC09Clips(self, split)

    def packed(self) -> np.ndarray:
        """The int16 ``clips.npy``, memory-mapped on first use (after unpickling too)."""
        if self._packed is None:
            self._packed = np.load(self.cache_dir / _CLIPS, mmap_mode="r")
        return self._packed

    def __getstate__(self):
        # DataLoader workers each map the file themselves rather than receive a copy of it.
        return {**self.__dict__, "_packed": None}


class SC09Clips(Dataset):
    """The clips of one split: items are float32 audio ``(16384,)`` in [-1, 1] and the int64 label ``()``."""

    def __init__(self, manifest: SC09Manifest, split: str):
        self.manifest, self.split = manifest, split
        self._rows, self._labels = manifest.rows(split), manifest.labels(split)

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        row = self._rows[int(index)]                  # IndexError past the end, as a Dataset should
        audio = torch.from_numpy(from_int16(self.manifest.packed()[row]))
        return audio, torch.tensor(self._labels[row - self._rows.start], dtype=torch.int64)


def prepare_sc09(root: str | Path, cache_dir: str | Path, *,
                 progress: Callable[[Iterable], Iterable] | None = None) -> SC09Manifest:
    """Scan SC09 at ``root`` and pack every digit clip, mono 16 kHz and 16384 samples, into ``cache_dir``.

    A second call with the same source files (relative paths, sizes and
    modification times: nearly every Speech Commands file has the same size) and
    the same splits returns the cached manifest without reading audio; the
    manifest is written last (:meth:`~wavegen.data.cache.CachedManifest.prepare`),
    so an interrupted run is never taken for a finished one. ``progress`` wraps
    the loop over files.
    """
    root, cache_dir = Path(root), Path(cache_dir)
    clips = scan_sc09(root)
    order = {split: i for i, split in enumerate(SPLITS)}
    clips.sort(key=lambda clip: order[clip.split])            # stable: by label and name within a split

    def build(cache_dir: Path) -> dict:
        log.info("preparing SC09 from %s into %s (%d clips)", root, cache_dir, len(clips))
        _pack(root, clips, cache_dir / _CLIPS, progress)
        counts = {split: sum(clip.split == split for clip in clips) for split in SPLITS}
        log.info("prepared SC09: %s clips", ", ".join(f"{n} {split}" for split, n in counts.items()))
        return {"root": str(root.resolve()), "words": list(DIGITS), "sample_rate": SAMPLE_RATE,
                "clip_samples": CLIP_SAMPLES, "counts": counts,
                "clips": [[f"{clip.word}/{clip.path.stem}", clip.speaker, clip.label] for clip in clips]}

    settings = {"sample_rate": SAMPLE_RATE, "clip_samples": CLIP_SAMPLES}
    sources = fingerprint(settings, root, [clip.path for clip in clips], [clip.split for clip in clips])
    return SC09Manifest.prepare(cache_dir, sources, build)


def _pack(root: Path, clips: list[SC09Clip], path: Path, progress) -> None:
    """Every clip as mono 16 kHz, padded or trimmed to 16384 samples, into the int16 array ``path``."""
    try:
        pack_resampled(path, [clip.path for clip in clips], [CLIP_SAMPLES] * len(clips), SAMPLE_RATE,
                       shape=(len(clips), CLIP_SAMPLES), progress=progress)
    except AudioFileError as error:
        raise DatasetError(f"SC09 at {root}: {error}") from None
