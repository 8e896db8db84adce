"""The packed, resampled cache of an utterance corpus, and the training crops WaveNet and the vocoder read.

The scanners list a corpus as :class:`~wavegen.data.utterances.Utterance`
records, each from its real layout (nothing is downloaded): LJSpeech-1.1
(:mod:`~wavegen.data.ljspeech`), VCTK 0.80 and 0.92 (:mod:`~wavegen.data.vctk`)
and any folder of audio files, the speaker being the sub-folder
(:func:`~wavegen.data.utterances.scan_folder`); :data:`SCANNERS` names them.

:func:`prepare_corpus` resamples every file once into one int16 array
(``audio.npy``, memory-mapped for training) and writes ``manifest.json`` last
through :mod:`wavegen.data.cache`, reusing both while the source files and
arguments are unchanged. :class:`WaveformCrops` cuts a split into fixed-length
training crops.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from wavegen.audio.io import audio_info
from wavegen.data.cache import CachedManifest, array_is_intact, fingerprint
from wavegen.data.ljspeech import scan_ljspeech
from wavegen.data.packed import CropIndex, from_int16, pack_resampled, resampled_length
from wavegen.data.utterances import Utterance, scan_folder
from wavegen.data.vctk import scan_vctk
from wavegen.errors import AudioFileError, DatasetError

__all__ = ["CORPUS_NAMES", "SCANNERS", "SPLITS", "CorpusManifest", "PackedUtterance", "WaveformCrops",
           "prepare_corpus"]

log = logging.getLogger(__name__)

SPLITS = ("train", "test")
SCANNERS: dict[str, Callable[[Path], list[Utterance]]] = {
    "ljspeech": scan_ljspeech, "vctk": scan_vctk, "folder": scan_folder}
CORPUS_NAMES = {"ljspeech": "LJSpeech", "vctk": "VCTK", "folder": "the audio folder"}     # for messages
_AUDIO = "audio.npy"


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


class CorpusManifest(CachedManifest):
    """What :func:`prepare_corpus` cached: the packed audio, speakers and the train/test split."""

    FORMAT = "wavegen.corpus"
    WHAT = "corpus"

    def __init__(self, cache_dir: str | Path, record: dict):
        self.cache_dir = Path(cache_dir)
        self.kind: str = record["kind"]
        self.sample_rate: int = record["sample_rate"]
        self.speakers: list[str] = list(record["speakers"])
        self.utterances = tuple(PackedUtterance(**u) for u in record["utterances"])
        self._index = {u.name: i for i, u in enumerate(self.utterances)}
        self._speaker_ids = {name: i for i, name in enumerate(self.speakers)}
        self._packed: np.ndarray | None = None

    @property
    def audio_path(self) -> Path:
        return self.cache_dir / _AUDIO

    @property
    def total_samples(self) -> int:
        return sum(u.length for u in self.utterances)

    def is_intact(self) -> bool:
        return array_is_intact(self.audio_path, (self.total_samples,))

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
    files (names, sizes and times) and arguments finds the manifest and returns
    without reading audio (:meth:`~wavegen.data.cache.CachedManifest.prepare`:
    the manifest is written last, so an interrupted run is never taken for a
    finished one).
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
    splits = _split(utterances, test_utterances, seed)

    def build(cache_dir: Path) -> dict:
        log.info("preparing %s corpus from %s into %s at %d Hz", kind, root, cache_dir, sample_rate)
        lengths = _pack(kind, root, utterances, cache_dir / _AUDIO, sample_rate, progress)
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        entries = [PackedUtterance(name, u.speaker, u.text, int(offset), int(length), split)
                   for name, u, offset, length, split in zip(names, utterances, offsets, lengths, splits)]
        speakers = sorted({u.speaker for u in utterances})
        log.info("prepared %d utterances (%d held out) of %d speakers", len(utterances), test_utterances,
                 len(speakers))
        return {**settings, "root": str(root.resolve()), "speakers": speakers,
                "utterances": [asdict(entry) for entry in entries]}

    sources = fingerprint(settings, root, [u.path for u in utterances], [[u.speaker, u.text] for u in utterances])
    return CorpusManifest.prepare(cache_dir, sources, build)


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
        pack_resampled(path, [u.path for u in utterances], lengths, sample_rate, progress=progress)
    except AudioFileError as error:
        raise DatasetError(f"{kind} corpus at {root}: {error}") from None
    return lengths


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
