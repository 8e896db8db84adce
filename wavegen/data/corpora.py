"""Readers for WaveNet's speech corpora and a packed, resampled cache of them.

WaveNet (van den Oord et al., "WaveNet: A Generative Model for Raw Audio", 2016)
was trained on VCTK for multi-speaker generation, conditioned on a speaker
one-hot (section 3.1); LJSpeech is the usual single-speaker set since. The
scanners read the layouts as distributed, nothing is downloaded:

* LJSpeech-1.1 (https://keithito.com/LJ-Speech-Dataset/): ``metadata.csv`` with
  ``id|transcription|normalized transcription`` rows (no header, no quoting:
  transcripts hold unbalanced ``"``) and ``wavs/<id>.wav`` at 22050 Hz;
* VCTK (https://doi.org/10.7488/ds/2645): 0.80 has ``wav48/p225/p225_001.wav``,
  0.92 has ``wav48_silence_trimmed/p225/p225_001_mic1.flac`` and ``_mic2``;
  transcripts in ``txt/p225/p225_001.txt`` (a few are missing);
* any folder of audio files, the speaker being the sub-folder.

:func:`prepare_corpus` resamples every file once into one int16 array
(``audio.npy``, memory-mapped for training) and writes ``manifest.json`` last,
SpeechBrain/ESPnet style, reusing both while the source files and arguments are
unchanged. :class:`WaveformCrops` cuts a split into fixed-length training crops.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from wavegen.audio.io import audio_info, find_audio_files, read_audio, resample
from wavegen.core.files import write_json_atomic
from wavegen.data.locate import unpack_hint
from wavegen.data.packed import (CropIndex, fit_length, from_int16, packed_array_is_intact, read_manifest,
                                 resampled_length, to_int16)
from wavegen.errors import AudioFileError, DatasetError

log = logging.getLogger(__name__)

LJSPEECH_SOURCE = "LJSpeech-1.1 is at https://keithito.com/LJ-Speech-Dataset/"
VCTK_SOURCE = "VCTK is on Edinburgh DataShare, https://doi.org/10.7488/ds/2645"
VCTK_LAYOUTS = ("wav48_silence_trimmed", "wav48")        # 0.92 first: preferred when both are there
VCTK_MICS = ("mic1", "mic2")
SPLITS = ("train", "test")
_MANIFEST = "manifest.json"
_AUDIO = "audio.npy"
_FORMAT = "wavegen.corpus"
_VERSION = 1


@dataclass(frozen=True)
class Utterance:
    """One source file of a corpus, its speaker and (when the corpus has one) its transcript."""
    path: Path
    speaker: str
    text: str | None


# ---------------------------------------------------------------- scanners

def scan_ljspeech(root: str | Path) -> list[Utterance]:
    """The utterances of LJSpeech-1.1 at ``root``, in ``metadata.csv`` order (speaker "LJ")."""
    root = Path(root)
    expected = f"expected {root}/metadata.csv and {root}/wavs/<id>.wav ({LJSPEECH_SOURCE})"
    metadata, wavs = root / "metadata.csv", root / "wavs"
    if not root.is_dir() or not metadata.is_file() or not wavs.is_dir():
        missing = "metadata.csv" if not metadata.is_file() else "wavs folder"
        problem = f"{root} has no {missing}" if root.is_dir() else f"{root} is not a folder"
        raise DatasetError(f"LJSpeech not found: {problem}{unpack_hint(root, 'metadata.csv')}; {expected}")
    try:
        with open(metadata, newline="", encoding="utf-8") as lines:
            rows = list(csv.reader(lines, delimiter="|", quoting=csv.QUOTE_NONE))
    except (UnicodeDecodeError, csv.Error) as error:
        raise DatasetError(f"LJSpeech at {root}: metadata.csv is unreadable ({error}); {expected}") from None
    utterances = []
    for line, row in enumerate(rows, start=1):
        if not row:
            continue
        if len(row) not in (2, 3) or not row[0]:
            raise DatasetError(f"LJSpeech at {root}: metadata.csv line {line} has {len(row)} fields, "
                               f"not id|transcription|normalized transcription; {expected}")
        # The normalized column spells numbers and abbreviations out: what a text front end wants.
        text = row[2] if len(row) == 3 and row[2] else row[1]
        utterances.append(Utterance(wavs / f"{row[0]}.wav", "LJ", text))
    if not utterances:
        raise DatasetError(f"LJSpeech at {root}: metadata.csv has no rows; {expected}")
    missing = [u.path for u in utterances if not u.path.is_file()]
    if missing:
        raise DatasetError(f"LJSpeech at {root}: {len(missing)} of {len(utterances)} metadata.csv rows have "
                           f"no audio file, the first is {missing[0]}; {expected}")
    return utterances


def scan_vctk(root: str | Path, mic: str = "mic1") -> list[Utterance]:
    """The utterances of VCTK 0.92 (one ``mic``) or 0.80 at ``root``, by speaker and name."""
    root = Path(root)
    if mic not in VCTK_MICS:
        raise DatasetError(f"unknown VCTK microphone {mic!r}; choose one of {', '.join(VCTK_MICS)}")
    expected = (f"expected {root}/wav48_silence_trimmed/<speaker>/<speaker>_<nnn>_mic1.flac (VCTK 0.92) "
                f"or {root}/wav48/<speaker>/<speaker>_<nnn>.wav (VCTK 0.80), with transcripts in "
                f"{root}/txt/<speaker>/ ({VCTK_SOURCE})")
    layout = next((name for name in VCTK_LAYOUTS if (root / name).is_dir()), None)
    if layout is None:
        problem = f"{root} is not a folder" if not root.is_dir() else f"{root} has neither wav48 folder"
        raise DatasetError(f"VCTK not found: {problem}{unpack_hint(root, *VCTK_LAYOUTS)}; {expected}")
    suffix, pattern = ("_" + mic, f"*_{mic}.flac") if layout == VCTK_LAYOUTS[0] else ("", "*.wav")
    utterances = []
    speaker_folders = (p for p in (root / layout).iterdir() if p.is_dir() and not p.name.startswith("."))
    for folder in sorted(speaker_folders):
        files = sorted(p for p in folder.glob(pattern) if not p.name.startswith("."))
        if not files:
            log.warning("VCTK at %s: speaker folder %s has no %s files; skipped", root, folder.name, pattern)
        for path in files:
            transcript = root / "txt" / folder.name / f"{path.stem.removesuffix(suffix)}.txt"
            text = transcript.read_text(errors="replace").strip() if transcript.is_file() else None
            utterances.append(Utterance(path, folder.name, text))
    if not utterances:
        raise DatasetError(f"VCTK at {root}: no {pattern} files in the {layout} speaker folders; {expected}")
    return utterances


def scan_folder(root: str | Path) -> list[Utterance]:
    """Every audio file under ``root``; the speaker is its folder relative to ``root`` (or root's name)."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"audio folder not found: {root} is not a folder")
    files = [p for p in find_audio_files([root]) if not p.name.startswith(".")]
    if not files:
        raise DatasetError(f"{root} holds no audio files (.wav, .flac or .ogg, searched recursively)")
    speakers = (p.parent.relative_to(root).as_posix() for p in files)
    return [Utterance(p, root.name if s == "." else s, None) for p, s in zip(files, speakers)]


SCANNERS: dict[str, Callable[[Path], list[Utterance]]] = {
    "ljspeech": scan_ljspeech, "vctk": scan_vctk, "folder": scan_folder}


# ---------------------------------------------------------------- the packed cache

@dataclass(frozen=True)
class PackedUtterance:
    """One utterance of a prepared corpus: samples ``offset:offset + length`` of ``audio.npy``."""
    name: str
    speaker: str
    text: str | None
    offset: int
    length: int
    split: str


class CorpusManifest:
    """What :func:`prepare_corpus` cached: the packed audio, speakers and the train/test split."""

    def __init__(self, cache_dir: str | Path, record: dict):
        self.cache_dir = Path(cache_dir)
        self.kind: str = record["kind"]
        self.sample_rate: int = record["sample_rate"]
        self.speakers: list[str] = list(record["speakers"])
        self.utterances = tuple(PackedUtterance(**u) for u in record["utterances"])
        self._index = {u.name: i for i, u in enumerate(self.utterances)}
        self._speaker_ids = {name: i for i, name in enumerate(self.speakers)}
        self._packed: np.ndarray | None = None

    @classmethod
    def load(cls, cache_dir: str | Path) -> CorpusManifest:
        """Read the manifest of a finished :func:`prepare_corpus` run."""
        record = _read_manifest(Path(cache_dir))
        if record is None:
            raise DatasetError(f"{cache_dir} holds no finished corpus cache (no valid {_MANIFEST}); "
                               "run the prepare stage first")
        return cls(cache_dir, record)

    @property
    def audio_path(self) -> Path:
        return self.cache_dir / _AUDIO

    @property
    def total_samples(self) -> int:
        return sum(u.length for u in self.utterances)

    def speaker_index(self, name: str) -> int:
        """The integer id of speaker ``name`` (its position in the sorted speaker list)."""
        if name not in self._speaker_ids:
            known = ", ".join(self.speakers[:5]) + (", ..." if len(self.speakers) > 5 else "")
            raise DatasetError(f"unknown speaker {name!r}; this corpus has {len(self.speakers)} "
                               f"speaker(s): {known}")
        return self._speaker_ids[name]

    def indices(self, split: str | None = None) -> list[int]:
        """Positions in :attr:`utterances` of a split ("train" or "test"; None for all)."""
        if split is not None and split not in SPLITS:
            raise ValueError(f"split must be 'train', 'test' or None, got {split!r}")
        return [i for i, u in enumerate(self.utterances) if split is None or u.split == split]

    def names(self, split: str | None = None) -> list[str]:
        return [self.utterances[i].name for i in self.indices(split)]

    def utterance(self, name_or_index: str | int) -> PackedUtterance:
        if isinstance(name_or_index, str):
            if name_or_index not in self._index:
                raise DatasetError(f"no utterance {name_or_index!r} in the corpus cached at {self.cache_dir}")
            return self.utterances[self._index[name_or_index]]
        return self.utterances[name_or_index]

    def audio(self, name_or_index: str | int) -> np.ndarray:
        """A whole utterance as float32 ``(T,)`` in [-1, 1]."""
        u = self.utterance(name_or_index)
        return from_int16(self.packed()[u.offset:u.offset + u.length])

    def packed(self) -> np.ndarray:
        """The int16 ``audio.npy``, memory-mapped on first use (after unpickling too)."""
        if self._packed is None:
            self._packed = np.load(self.audio_path, mmap_mode="r")
        return self._packed

    def __getstate__(self):
        # DataLoader workers each map the file themselves rather than receive a copy of it.
        return {**self.__dict__, "_packed": None}


def prepare_corpus(kind: str, root: str | Path, cache_dir: str | Path, *, sample_rate: int,
                   test_utterances: int, seed: int = 0,
                   progress: Callable[[Iterable], Iterable] | None = None) -> CorpusManifest:
    """Scan the ``kind`` corpus at ``root``, resample it once to ``sample_rate`` into ``cache_dir``.

    ``test_utterances`` are held out by a seeded shuffle, taken from the speakers
    in turn, and never a speaker's last one. A second call with the same source
    files (names and sizes) and arguments finds the manifest and returns without
    reading audio. The manifest is removed before and written after any
    rebuild, so an interrupted run is never taken for a finished one.
    ``progress`` wraps the loop over files (e.g. :func:`wavegen.progress.wrap_iterable`).
    """
    if kind not in SCANNERS:
        raise DatasetError(f"unknown corpus kind {kind!r}; choose one of {', '.join(SCANNERS)}")
    if sample_rate <= 0 or test_utterances < 0:
        raise ValueError(f"sample_rate must be positive and test_utterances >= 0, "
                         f"got {sample_rate} and {test_utterances}")
    root, cache_dir = Path(root), Path(cache_dir)
    utterances = SCANNERS[kind](root)
    names = _utterance_names(kind, root, utterances)
    settings = {"kind": kind, "sample_rate": sample_rate, "test_utterances": test_utterances, "seed": seed}
    fingerprint = _fingerprint(root, utterances, settings)

    record = _read_manifest(cache_dir)
    if record is not None and record.get("fingerprint") == fingerprint:
        manifest = CorpusManifest(cache_dir, record)
        if _packed_is_intact(manifest):
            log.info("%s cache at %s is up to date", kind, cache_dir)
            return manifest
    splits = _split(utterances, test_utterances, seed)
    cache_dir.mkdir(parents=True, exist_ok=True)
    (cache_dir / _MANIFEST).unlink(missing_ok=True)
    log.info("preparing %s corpus from %s into %s at %d Hz", kind, root, cache_dir, sample_rate)

    lengths = _pack(kind, root, utterances, cache_dir / _AUDIO, sample_rate, progress)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    entries = [PackedUtterance(name, u.speaker, u.text, int(offset), int(length), split)
               for name, u, offset, length, split in zip(names, utterances, offsets, lengths, splits)]
    record = {"format": _FORMAT, "version": _VERSION, **settings, "fingerprint": fingerprint,
              "root": str(root.resolve()), "speakers": sorted({u.speaker for u in utterances}),
              "utterances": [asdict(entry) for entry in entries]}
    write_json_atomic(cache_dir / _MANIFEST, record)
    log.info("prepared %d utterances (%d held out) of %d speakers", len(utterances), test_utterances,
             len(record["speakers"]))
    return CorpusManifest(cache_dir, record)


def _utterance_names(kind: str, root: Path, utterances: list[Utterance]) -> list[str]:
    """Unique names: the corpus ids (``LJ001-0001``, ``p225_001``) or, for a folder, the relative path."""
    if kind == "folder":
        return [u.path.relative_to(root).with_suffix("").as_posix() for u in utterances]
    return [u.path.stem.removesuffix("_mic1").removesuffix("_mic2") for u in utterances]


def _split(utterances: list[Utterance], count: int, seed: int) -> list[str]:
    """"train"/"test" per utterance: ``count`` test ones, round-robin over shuffled speakers."""
    rng = np.random.default_rng(seed)
    by_speaker: dict[str, list[int]] = {}
    for i, u in enumerate(utterances):
        by_speaker.setdefault(u.speaker, []).append(i)
    # Each speaker keeps at least one training utterance: a conditioned model must have seen it.
    available = len(utterances) - len(by_speaker)
    if count > available:
        raise DatasetError(f"asked for {count} test utterances, but the corpus has {len(utterances)} "
                           f"utterances of {len(by_speaker)} speaker(s) and every speaker keeps one "
                           f"for training (at most {available})")
    queues = [[pool[j] for j in rng.permutation(len(pool))] for pool in by_speaker.values()]
    queues = [queues[j] for j in rng.permutation(len(queues))]
    splits, taken = ["train"] * len(utterances), 0
    while taken < count:
        for queue in queues:
            if taken < count and len(queue) > 1:
                splits[queue.pop()] = "test"
                taken += 1
    return splits


def _pack(kind: str, root: Path, utterances: list[Utterance], path: Path, sample_rate: int,
          progress) -> list[int]:
    """Resample every file to mono ``sample_rate`` into the int16 array ``path``; returns lengths."""
    try:
        # Lengths from the headers, so the packed array is allocated once and a bad file is found early.
        lengths = [resampled_length(info.frames, info.samplerate, sample_rate)
                   for info in (audio_info(u.path) for u in utterances)]
    except AudioFileError as error:
        raise DatasetError(f"{kind} corpus at {root}: {error}") from None
    offsets = np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)])
    temporary = path.with_name(f".{path.name}.tmp")
    packed = np.lib.format.open_memmap(temporary, mode="w+", dtype=np.int16, shape=(int(offsets[-1]),))
    try:
        for i, u in enumerate((progress or iter)(utterances)):
            audio, rate = read_audio(u.path)
            mono = resample(audio.mean(axis=0), rate, sample_rate).numpy()
            packed[offsets[i]:offsets[i + 1]] = to_int16(fit_length(mono, lengths[i]))
        packed.flush()
    except BaseException as error:
        temporary.unlink(missing_ok=True)
        if isinstance(error, AudioFileError):
            raise DatasetError(f"{kind} corpus at {root}: {error}") from None
        raise
    finally:
        del packed
    os.replace(temporary, path)
    return lengths


def _fingerprint(root: Path, utterances: list[Utterance], settings: dict) -> str:
    digest = hashlib.sha256(json.dumps({"format": _FORMAT, "version": _VERSION, **settings},
                                       sort_keys=True).encode())
    for u in utterances:
        digest.update(json.dumps([u.path.relative_to(root).as_posix(), u.path.stat().st_size,
                                  u.speaker, u.text]).encode())
    return digest.hexdigest()


def _packed_is_intact(manifest: CorpusManifest) -> bool:
    return packed_array_is_intact(manifest.audio_path, (manifest.total_samples,))


def _read_manifest(cache_dir: Path) -> dict | None:
    return read_manifest(cache_dir / _MANIFEST, _FORMAT, _VERSION)


# ---------------------------------------------------------------- training crops

class WaveformCrops(Dataset):
    """``(audio, speaker)`` crops of ``crop_length`` samples every ``hop`` samples over one split.

    An utterance of length L gives ``1 + ceil(max(L - crop_length, 0) / hop)``
    crops starting at ``min(k * hop, L - crop_length)``: the last one is moved
    back to end with the utterance rather than padded, and an utterance shorter
    than a crop is zero-padded at the front, the silence a causal WaveNet sees
    before speech starts. Items are a float32 ``(crop_length,)`` tensor in [-1, 1]
    and the speaker's int64 id (:meth:`CorpusManifest.speaker_index`).
    """

    def __init__(self, manifest: CorpusManifest, split: str | None, crop_length: int, hop: int):
        self.manifest, self.split, self.crop_length, self.hop = manifest, split, crop_length, hop
        self.utterances = np.asarray(manifest.indices(split), dtype=np.int64)
        self.crops = CropIndex([manifest.utterances[i].length for i in self.utterances], crop_length, hop)

    def __len__(self) -> int:
        return len(self.crops)

    def locate(self, index: int) -> tuple[int, int]:
        """(utterance index in the manifest, start within it; negative = front padding) of crop ``index``."""
        position, k = self.crops.locate(index)
        utterance = int(self.utterances[position])
        return utterance, min(k * self.hop, self.manifest.utterances[utterance].length - self.crop_length)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        utterance, start = self.locate(int(index))
        u = self.manifest.utterances[utterance]
        pad = max(-start, 0)
        begin = u.offset + max(start, 0)
        crop = np.zeros(self.crop_length, dtype=np.float32)
        crop[pad:] = from_int16(self.manifest.packed()[begin:begin + self.crop_length - pad])
        return torch.from_numpy(crop), torch.tensor(self.manifest.speaker_index(u.speaker), dtype=torch.int64)
