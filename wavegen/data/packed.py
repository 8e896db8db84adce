"""Helpers shared by the dataset readers that cache resampled audio as packed int16 arrays."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

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


def read_manifest(path: Path, format: str, version: int | None = None) -> dict | None:
    """The JSON record at ``path`` if it is a finished cache's manifest of ``format`` (and ``version``), else None."""
    try:
        record = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    ok = isinstance(record, dict) and record.get("format") == format and (
        version is None or record.get("version") == version)
    return record if ok else None


def packed_array_is_intact(path: Path, shape: tuple[int, ...], dtype: np.dtype | type = np.int16) -> bool:
    """Whether ``path`` holds a ``.npy`` array of ``shape`` and ``dtype`` (not truncated or replaced)."""
    try:
        packed = np.load(path, mmap_mode="r")
    except (OSError, ValueError):
        return False
    return packed.dtype == np.dtype(dtype) and packed.shape == tuple(shape)


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
