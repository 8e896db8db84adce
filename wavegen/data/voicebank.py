"""Reader for the VoiceBank-DEMAND speech enhancement corpus.

Valentini-Botinhao, Wang, Takaki and Yamagishi, "Investigating RNN-based speech
enhancement methods for noise-robust text-to-speech", SSW 2016; the corpus is on
Edinburgh DataShare, doi:10.7488/ds/2117. Its root holds ``clean_trainset_28spk_wav``,
``noisy_trainset_28spk_wav`` (or the ``56spk`` variants), ``clean_testset_wav`` and
``noisy_testset_wav``: 48 kHz mono 16-bit files named like ``p226_001.wav``, the
same names in the clean and noisy folder of a split.

:func:`prepare_voicebank` checks that layout, resamples every file once to the
model rate and writes a cache (:mod:`wavegen.data.cache`: a manifest written last,
reused while the corpus is unchanged):

* ``train_clean.npy`` / ``train_noisy.npy``: all training utterances back to back
  as int16, with per-utterance offsets in the manifest, memory-mapped for training;
* ``clean_testset_wav/`` / ``noisy_testset_wav/``: the test set as WAV at the model
  rate, same file names, ready for an enhance/evaluate step;
* ``manifest.json``.

:class:`VoiceBankWindows` cuts the training pairs into overlapping windows as in
SEGAN (Pascual, Bonafonte and Serra, Interspeech 2017: 16384 samples at 16 kHz,
50% overlap).
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from wavegen.audio.io import audio_info, find_audio_files, read_audio, resample, write_audio
from wavegen.data.cache import CachedManifest, array_is_intact, array_output, fingerprint
from wavegen.data.packed import CropIndex, fit_length, from_int16, resampled_length, to_int16
from wavegen.errors import DatasetError

log = logging.getLogger(__name__)

TRAINSETS = ("28spk", "56spk")
TEST_FOLDERS = ("clean_testset_wav", "noisy_testset_wav")
WHERE_TO_GET = "VoiceBank-DEMAND is on Edinburgh DataShare, https://doi.org/10.7488/ds/2117"


def training_speakers(names: Iterable[str]) -> list[str]:
    """The sorted speaker ids of file names like ``p226_001.wav``."""
    return sorted({name.split("_")[0] for name in names})


def train_folders(trainset: str) -> tuple[str, str]:
    """The (clean, noisy) training folder names of a VoiceBank-DEMAND variant."""
    if trainset not in TRAINSETS:
        raise DatasetError(f"unknown VoiceBank-DEMAND training set {trainset!r}; "
                           f"choose one of {', '.join(TRAINSETS)}")
    return f"clean_trainset_{trainset}_wav", f"noisy_trainset_{trainset}_wav"


@dataclass(frozen=True, eq=False)
class VoiceBankManifest(CachedManifest):
    """What :func:`prepare_voicebank` cached: where the files are and how the packed audio is cut."""

    FORMAT = "wavegen.voicebank"
    WHAT = "VoiceBank-DEMAND"

    cache_dir: Path
    sample_rate: int
    trainset: str
    train_names: tuple[str, ...]
    train_offsets: np.ndarray        # (N + 1,) int64 sample offsets into the packed training arrays
    test_names: tuple[str, ...]

    @property
    def train_clean_path(self) -> Path:
        return self.cache_dir / "train_clean.npy"

    @property
    def train_noisy_path(self) -> Path:
        return self.cache_dir / "train_noisy.npy"

    @property
    def test_clean_dir(self) -> Path:
        return self.cache_dir / TEST_FOLDERS[0]

    @property
    def test_noisy_dir(self) -> Path:
        return self.cache_dir / TEST_FOLDERS[1]

    @property
    def train_lengths(self) -> np.ndarray:
        return np.diff(self.train_offsets)

    def train_pair(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """``(clean, noisy)`` float32 arrays of training utterance ``index`` (at the cache's rate)."""
        begin, end = int(self.train_offsets[index]), int(self.train_offsets[index + 1])
        return tuple(from_int16(np.load(path, mmap_mode="r")[begin:end])
                     for path in (self.train_clean_path, self.train_noisy_path))

    def split_speakers(self, held_out: int) -> tuple[list[int], list[int]]:
        """(training, validation) utterance indices: the last ``held_out`` speakers (sorted ids) validate."""
        speakers = training_speakers(self.train_names)
        if not 0 <= held_out < len(speakers):
            raise DatasetError(f"{self.cache_dir}: cannot hold out {held_out} of the {len(speakers)} training "
                               f"speakers for validation (keep at least one to train on)")
        validate = set(speakers[len(speakers) - held_out:])
        split = [name.split("_")[0] in validate for name in self.train_names]
        return [i for i, v in enumerate(split) if not v], [i for i, v in enumerate(split) if v]

    def test_pairs(self) -> list[tuple[Path, Path]]:
        """``(clean, noisy)`` paths of the cached test set, in name order."""
        return [(self.test_clean_dir / name, self.test_noisy_dir / name) for name in self.test_names]

    def is_intact(self) -> bool:
        total = int(self.train_offsets[-1])
        if not all(array_is_intact(path, (total,)) for path in (self.train_clean_path, self.train_noisy_path)):
            return False
        return all(clean.is_file() and noisy.is_file() for clean, noisy in self.test_pairs())

    @classmethod
    def from_record(cls, cache_dir: Path, record: dict) -> VoiceBankManifest:
        lengths = np.array([length for _, length in record["train"]], dtype=np.int64)
        return cls(cache_dir=cache_dir, sample_rate=record["sample_rate"], trainset=record["trainset"],
                   train_names=tuple(name for name, _ in record["train"]),
                   train_offsets=np.concatenate([[0], np.cumsum(lengths)]),
                   test_names=tuple(record["test"]))


def prepare_voicebank(root: str | Path, cache_dir: str | Path, *, trainset: str = "28spk",
                      sample_rate: int = 16000,
                      progress: Callable[[Iterable], Iterable] | None = None) -> VoiceBankManifest:
    """Check the corpus at ``root``, resample it once to ``sample_rate`` into ``cache_dir``.

    A second call with the same arguments finds ``manifest.json``, checks the
    corpus files (names, sizes and times) against it, and returns at once; the
    manifest is written last (:meth:`~wavegen.data.cache.CachedManifest.prepare`),
    so an interrupted run is never taken for a finished one. ``progress`` wraps the loops over the
    training and the test pairs (e.g. ``tqdm``). Raises :class:`DatasetError`
    for a missing or malformed layout.
    """
    root, cache_dir = Path(root), Path(cache_dir)
    folders = (*train_folders(trainset), *TEST_FOLDERS)
    files = check_voicebank_layout(root, trainset)
    settings = {"trainset": trainset, "sample_rate": sample_rate}

    def build(cache_dir: Path) -> dict:
        log.info("preparing VoiceBank-DEMAND from %s into %s at %d Hz", root, cache_dir, sample_rate)
        clean_names = [name for name, _ in files[folders[0]]]
        test_names = [name for name, _ in files[folders[2]]]
        lengths = _pack_training_pairs(root, folders[:2], clean_names, cache_dir, sample_rate, progress)
        _write_test_set(root, folders[2:], test_names, cache_dir, sample_rate, progress)
        log.info("prepared %d training and %d test pairs", len(clean_names), len(test_names))
        return {**settings, "root": str(root.resolve()),
                "train": [[name, int(length)] for name, length in zip(clean_names, lengths)], "test": test_names}

    sources = fingerprint(settings, root, [root / folder / name for folder in folders for name, _ in files[folder]])
    return VoiceBankManifest.prepare(cache_dir, sources, build)


def _pack_training_pairs(root: Path, folders: tuple[str, str], names: list[str], cache_dir: Path,
                         sample_rate: int, progress) -> list[int]:
    """Resample every (clean, noisy) pair into ``train_clean.npy`` / ``train_noisy.npy``; returns lengths."""
    # Lengths after resampling, from the headers, so the packed arrays are allocated once.
    lengths = []
    for name in names:
        expected = [resampled_length(info.frames, info.samplerate, sample_rate)
                    for info in (audio_info(root / folder / name) for folder in folders)]
        if expected[0] != expected[1]:
            log.warning("%s: clean and noisy lengths differ (%s); keeping the shorter", name, expected)
        lengths.append(min(expected))
    offsets = np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)])
    shape = (int(offsets[-1]),)
    with (array_output(cache_dir / "train_clean.npy", shape) as clean,
          array_output(cache_dir / "train_noisy.npy", shape) as noisy):
        for i, name in enumerate((progress or iter)(names)):
            pair = _load_resampled([root / folder / name for folder in folders], sample_rate)
            for array, audio in zip((clean, noisy), pair):
                array[offsets[i]:offsets[i + 1]] = to_int16(fit_length(audio, lengths[i]))
    return lengths


def _write_test_set(root: Path, folders: tuple[str, str], names: list[str], cache_dir: Path,
                    sample_rate: int, progress) -> None:
    """Resampled WAV copies of the test folders, built aside and swapped in whole."""
    temporary = [cache_dir / f".{folder}.tmp" for folder in folders]
    for folder in temporary:
        shutil.rmtree(folder, ignore_errors=True)
    for name in (progress or iter)(names):
        pair = _load_resampled([root / folder / name for folder in folders], sample_rate)
        for tmp_dir, audio in zip(temporary, pair):
            write_audio(tmp_dir / name, audio.clip(-1, 1), sample_rate, subtype="PCM_16")
    for tmp_dir, folder in zip(temporary, folders):
        shutil.rmtree(cache_dir / folder, ignore_errors=True)
        os.replace(tmp_dir, cache_dir / folder)


def check_voicebank_layout(root: str | Path, trainset: str = "28spk") -> dict[str, list[tuple[str, int]]]:
    """``{folder: [(file name, size in bytes), ...]}`` for the four folders, or a :class:`DatasetError`."""
    root = Path(root)
    folders = (*train_folders(trainset), *TEST_FOLDERS)
    expected = f"expected {root}/{{{', '.join(folders)}}}/ holding pXXX_NNN.wav files ({WHERE_TO_GET})"
    if not root.is_dir():
        raise DatasetError(f"VoiceBank-DEMAND not found: {root} is not a folder; {expected}")
    missing = [folder for folder in folders if not (root / folder).is_dir()]
    if missing:
        hints = [f"{folder}.zip is there but not unpacked" for folder in missing
                 if (root / f"{folder}.zip").exists()]
        other = TRAINSETS[1 - TRAINSETS.index(trainset)]
        if any(folder.endswith(f"_{trainset}_wav") for folder in missing) and all(
                (root / folder).is_dir() for folder in train_folders(other)):
            hints.append(f"the {other} training set is there: pass trainset={other!r}")
        raise DatasetError(f"VoiceBank-DEMAND at {root} is missing {', '.join(missing)}"
                           f"{' (' + '; '.join(hints) + ')' if hints else ''}; {expected}")
    files = {}
    for folder in folders:
        found = [path for path in find_audio_files([root / folder])
                 if path.suffix.lower() == ".wav" and not path.name.startswith(".")]
        if not found:
            raise DatasetError(f"VoiceBank-DEMAND at {root}: {folder} holds no .wav files; {expected}")
        files[folder] = [(path.relative_to(root / folder).as_posix(), path.stat().st_size) for path in found]
    for clean, noisy in (folders[:2], folders[2:]):
        clean_names, noisy_names = ({name for name, _ in files[f]} for f in (clean, noisy))
        if clean_names != noisy_names:
            only_clean, only_noisy = sorted(clean_names - noisy_names), sorted(noisy_names - clean_names)
            raise DatasetError(
                f"VoiceBank-DEMAND at {root}: {clean} and {noisy} must hold the same file names, but "
                f"{len(only_clean)} are only in {clean} ({', '.join(only_clean[:3]) or '-'}) and "
                f"{len(only_noisy)} only in {noisy} ({', '.join(only_noisy[:3]) or '-'}); {expected}")
    return files


class VoiceBankWindows(Dataset):
    """``(clean, noisy)`` training windows of ``window`` samples every ``hop`` samples.

    Each utterance gives ``1 + ceil(max(length - window, 0) / hop)`` windows
    starting at ``0, hop, 2 * hop, ...``; the last one, and any utterance shorter
    than a window, is zero-padded at the end. Items are float32 ``(window,)``
    tensors in [-1, 1], read from the memory-mapped int16 cache.
    """

    def __init__(self, manifest: VoiceBankManifest, window: int = 16384, hop: int = 8192,
                 utterances: Iterable[int] | None = None):
        self.manifest, self.window, self.hop = manifest, window, hop
        self.utterances = (np.arange(len(manifest.train_names)) if utterances is None
                           else np.asarray(list(utterances), dtype=np.int64))
        self.windows = CropIndex(manifest.train_lengths[self.utterances], window, hop)
        self._arrays: tuple[np.ndarray, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.windows)

    def locate(self, index: int) -> tuple[int, int]:
        """(utterance index in the manifest, first sample within it) of window ``index``."""
        position, k = self.windows.locate(index)
        return int(self.utterances[position]), k * self.hop

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        utterance, start = self.locate(int(index))
        begin = int(self.manifest.train_offsets[utterance]) + start
        end = min(begin + self.window, int(self.manifest.train_offsets[utterance + 1]))
        pair = []
        for array in self._packed():
            chunk = np.zeros(self.window, dtype=np.float32)
            chunk[:end - begin] = from_int16(array[begin:end])
            pair.append(torch.from_numpy(chunk))
        return pair[0], pair[1]

    def _packed(self) -> tuple[np.ndarray, np.ndarray]:
        # Opened lazily (and dropped when pickled) so DataLoader workers each map the files themselves.
        if self._arrays is None:
            self._arrays = (np.load(self.manifest.train_clean_path, mmap_mode="r"),
                            np.load(self.manifest.train_noisy_path, mmap_mode="r"))
        return self._arrays

    def __getstate__(self):
        return {**self.__dict__, "_arrays": None}


def load_voicebank_pairs(manifest: VoiceBankManifest, split: str = "test",
                         count: int | None = None) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    """Whole ``(name, clean, noisy)`` utterances as float32 ``(T,)`` tensors, e.g. for validation.

    ``count`` picks that many spread evenly over the (speaker-sorted) names; None takes all.
    """
    names = {"train": manifest.train_names, "test": manifest.test_names}.get(split)
    if names is None:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    picks = range(len(names)) if count is None or count >= len(names) else np.unique(
        np.linspace(0, len(names) - 1, max(count, 1)).round().astype(int))
    pairs, test_paths = [], manifest.test_pairs()
    for i in picks:
        if split == "test":
            clean, noisy = (torch.from_numpy(read_audio(path)[0][0]) for path in test_paths[i])
        else:
            arrays = (np.load(path, mmap_mode="r")
                      for path in (manifest.train_clean_path, manifest.train_noisy_path))
            span = slice(int(manifest.train_offsets[i]), int(manifest.train_offsets[i + 1]))
            clean, noisy = (torch.from_numpy(from_int16(a[span])) for a in arrays)
        pairs.append((names[i], clean, noisy))
    return pairs


def _load_resampled(paths: list[Path], sample_rate: int) -> list[np.ndarray]:
    """Each file mixed down to mono at ``sample_rate``; one resampling call when they agree."""
    loaded = [read_audio(path) for path in paths]
    mono = [audio.mean(axis=0) for audio, _ in loaded]
    rates = {rate for _, rate in loaded}
    if len(rates) == 1 and len({audio.size for audio in mono}) == 1:
        return list(resample(np.stack(mono), rates.pop(), sample_rate).numpy())
    return [resample(audio, rate, sample_rate).numpy() for audio, (_, rate) in zip(mono, loaded)]
