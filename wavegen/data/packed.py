"""Audio as the readers cache it: resampled, cut to length, packed as int16, and numbered into crops.

The speech readers (:mod:`~wavegen.data.corpora`, :mod:`~wavegen.data.sc09`,
:mod:`~wavegen.data.voicebank`) store audio in [-1, 1] as int16 arrays in their
cache (:mod:`wavegen.data.cache`) and read it back as float32 crops.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from wavegen.audio.io import read_audio, resample
from wavegen.data.cache import array_output

INT16_SCALE = 32768.0


def resampled_length(frames: int, orig_rate: int, new_rate: int) -> int:
    """Samples that ``torchaudio.functional.resample`` returns: ceil(new_rate * frames / orig_rate)."""
    return -(-frames * new_rate // orig_rate)


def fit_length(audio: np.ndarray, length: int) -> np.ndarray:
    """Crop or zero-pad a 1-D signal to ``length`` samples."""
    return audio[:length] if audio.size >= length else np.pad(audio, (0, length - audio.size))


def to_int16(audio: np.ndarray) -> np.ndarray:
    """Float audio in [-1, 1] -> int16, rounded and clipped."""
    return np.clip(np.round(audio * INT16_SCALE), -32768, 32767).astype(np.int16)


def from_int16(packed: np.ndarray) -> np.ndarray:
    """int16 -> float32 in [-1, 1)."""
    return packed.astype(np.float32) / np.float32(INT16_SCALE)


def pack_resampled(path: Path, files: Sequence[Path], lengths: Sequence[int], sample_rate: int, *,
                   shape: tuple[int, ...] | None = None,
                   progress: Callable[[Iterable], Iterable] | None = None) -> None:
    """Each file mixed down to mono at ``sample_rate``, cut or padded to its length, as int16 into ``path``.

    The files lie back to back in a ``.npy`` array of ``shape`` (default: flat,
    ``sum(lengths)`` samples), written aside and renamed into place when all are
    in. ``progress`` wraps the loop over files.
    """
    offsets = np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)])
    with array_output(path, shape or (int(offsets[-1]),)) as packed:
        flat = packed.reshape(-1)
        for i, file in enumerate((progress or iter)(files)):
            audio, rate = read_audio(file)
            mono = resample(audio.mean(axis=0), rate, sample_rate).numpy()
            flat[offsets[i]:offsets[i + 1]] = to_int16(fit_length(mono, lengths[i]))


class CropIndex:
    """Numbering of fixed-length crops taken every ``hop`` samples over utterances of given lengths.

    An utterance of length L gives ``1 + ceil(max(L - crop, 0) / hop)`` crops; where
    the last one starts (padded, or moved back) is the reader's choice.
    """

    def __init__(self, lengths: np.ndarray, crop: int, hop: int):
        if crop <= 0 or hop <= 0:
            raise ValueError(f"crop length and hop must be positive, got {crop} and {hop}")
        counts = 1 + -(-np.maximum(np.asarray(lengths, dtype=np.int64) - crop, 0) // hop)
        self._first = np.concatenate([[0], np.cumsum(counts)])            # (U + 1,)

    def __len__(self) -> int:
        return int(self._first[-1])

    def locate(self, index: int) -> tuple[int, int]:
        """(position of the utterance in ``lengths``, crop number k within it) of crop ``index``."""
        if not 0 <= index < len(self):
            raise IndexError(f"crop {index} out of range for {len(self)} crops")
        position = int(np.searchsorted(self._first, index, side="right")) - 1
        return position, index - int(self._first[position])
