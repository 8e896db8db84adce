"""Helpers shared by the dataset readers that cache resampled audio as packed int16 arrays."""

from __future__ import annotations

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
