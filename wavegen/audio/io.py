"""Audio file I/O: soundfile for reading and writing, torchaudio.functional for resampling.

Every reader returns float32 arrays shaped ``(channels, frames)``. Every writer
writes to a temporary file in the destination folder and renames it into place,
so a crash never leaves a half-written output behind.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio.functional as AF

from wavegen.core.files import atomic_output
from wavegen.errors import AudioFileError, WavegenError

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg")


def audio_info(path: str | Path) -> sf._SoundFileInfo:
    """Header of an audio file; raises :class:`AudioFileError` if it is not readable audio."""
    path = Path(path)
    if not path.is_file():
        raise AudioFileError(path, "no such file")
    if path.stat().st_size == 0:
        raise AudioFileError(path, "file is empty")
    try:
        info = sf.info(str(path))
    except Exception as exc:  # soundfile raises LibsndfileError, RuntimeError, TypeError...
        raise AudioFileError(path, f"not a readable audio file ({_first_line(exc)})") from None
    if info.frames == 0:
        raise AudioFileError(path, "audio file has no samples")
    return info


def read_audio(path: str | Path, start: int = 0, frames: int = -1) -> tuple[np.ndarray, int]:
    """Read ``frames`` frames from ``start`` as float32 ``(channels, frames)`` and the sample rate."""
    path = Path(path)
    info = audio_info(path)
    try:
        data, sr = sf.read(str(path), start=start, frames=frames, dtype="float32", always_2d=True)
    except Exception as exc:
        raise AudioFileError(path, f"could not decode audio ({_first_line(exc)})") from None
    if start == 0 and frames < 0 and data.shape[0] == 0:
        raise AudioFileError(path, "audio file has no samples")
    assert sr == info.samplerate
    return np.ascontiguousarray(data.T), sr


def write_audio(path: str | Path, audio: np.ndarray | torch.Tensor, sample_rate: int,
                subtype: str | None = None) -> Path:
    """Write ``(channels, frames)`` or ``(frames,)`` audio atomically; the format follows the suffix."""
    path = Path(path)
    if isinstance(audio, torch.Tensor):
        audio = audio.detach().cpu().numpy()
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[None]
    fmt = _format_for(path)
    with atomic_output(path) as tmp:
        sf.write(str(tmp), audio.T, sample_rate, format=fmt, subtype=subtype)
    return path


def resample(audio: torch.Tensor | np.ndarray, orig_rate: int, new_rate: int) -> torch.Tensor:
    """Band-limited resampling along the last axis (identity when the rates agree)."""
    x = torch.as_tensor(audio, dtype=torch.float32)
    if orig_rate == new_rate:
        return x
    return AF.resample(x, orig_rate, new_rate)


def find_audio_files(inputs: Iterable[str | Path]) -> list[Path]:
    """Expand files and folders (recursively) into a sorted list of audio files.

    Files given explicitly are kept whatever their suffix, so that a mistaken
    input is reported as a bad audio file rather than silently skipped.
    """
    found: list[Path] = []
    for item in inputs:
        item = Path(item)
        if item.is_dir():
            found.extend(sorted(p for p in item.rglob("*")
                                if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS))
        elif item.exists():
            found.append(item)
        else:
            raise WavegenError(f"{item}: no such file or folder")
    return found


def _format_for(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in AUDIO_EXTENSIONS:
        raise WavegenError(f"{path}: unsupported output format {suffix!r} "
                           f"(use one of {', '.join(AUDIO_EXTENSIONS)})")
    return {"wav": "WAV", "flac": "FLAC", "ogg": "OGG"}[suffix[1:]]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
