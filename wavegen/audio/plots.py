"""Pictures of audio: log-magnitude spectrograms, one row per signal, saved as PNG (matplotlib, Agg).

Spectrograms are what people compare audio by at a glance (pitch contours as
curved harmonics, formants as dark bands, fricatives as high-frequency noise),
so the docs and reports draw them here rather than describing them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.signal

from wavegen.core.files import save_figure


def log_spectrogram(audio: np.ndarray, sample_rate: int, *, window_ms: float = 25.0,
                    hop_ms: float = 4.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frequencies in Hz, times in s, power in dB re the loudest bin) of mono ``audio`` (Hann window)."""
    window = int(sample_rate * window_ms / 1000)
    hop = max(1, int(sample_rate * hop_ms / 1000))
    freqs, times, power = scipy.signal.spectrogram(np.asarray(audio, dtype=np.float64), sample_rate,
                                                   window="hann", nperseg=window, noverlap=window - hop,
                                                   mode="psd")
    db = 10 * np.log10(np.maximum(power, 1e-20))
    return freqs, times, db - db.max()


def save_spectrograms(path: str | Path, rows: Sequence[tuple[str, np.ndarray]], sample_rate: int, *,
                      title: str = "", max_hz: float = 8000.0, range_db: float = 80.0) -> Path:
    """One spectrogram per ``(label, audio)`` row, on shared axes, written to ``path`` (PNG) atomically."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not rows:
        raise ValueError("nothing to draw: give at least one (label, audio) row")
    seconds = max(audio.size for _, audio in rows) / sample_rate
    figure, axes = plt.subplots(len(rows), 1, figsize=(10, 0.4 + 2.2 * len(rows)), sharex=True, squeeze=False)
    for axis, (label, audio) in zip(axes[:, 0], rows):
        freqs, times, db = log_spectrogram(audio, sample_rate)
        keep = freqs <= max_hz
        axis.pcolormesh(times, freqs[keep] / 1000, db[keep], vmin=-range_db, vmax=0, cmap="magma",
                        shading="auto", rasterized=True)
        axis.set_xlim(0, seconds)
        axis.set_ylabel("kHz")
        axis.set_title(label, loc="left", fontsize=9)
    axes[-1, 0].set_xlabel("seconds")
    return save_figure(figure, path, title, dpi=100)


def save_spectrogram_grid(path: str | Path, clips: Sequence[np.ndarray], sample_rate: int, *,
                          labels: Sequence[str] | None = None, columns: int = 4, title: str = "",
                          max_hz: float = 8000.0, range_db: float = 80.0) -> Path:
    """Short clips (say a batch of generated words) as a grid of small spectrograms, PNG, atomically."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not len(clips):
        raise ValueError("nothing to draw: give at least one clip")
    columns = min(columns, len(clips))
    rows = -(-len(clips) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(2.4 * columns, 0.5 + 1.9 * rows), squeeze=False,
                                sharex=True, sharey=True)
    for i, axis in enumerate(axes.flat):
        if i >= len(clips):
            axis.axis("off")
            continue
        freqs, times, db = log_spectrogram(clips[i], sample_rate, window_ms=16.0, hop_ms=8.0)
        keep = freqs <= max_hz
        axis.pcolormesh(times, freqs[keep] / 1000, db[keep], vmin=-range_db, vmax=0, cmap="magma",
                        shading="auto", rasterized=True)
        if labels is not None:
            axis.set_title(labels[i], fontsize=8, loc="left")
        axis.tick_params(labelsize=7)
    for axis in axes[:, 0]:
        axis.set_ylabel("kHz", fontsize=7)
    for axis in axes[-1, :]:
        axis.set_xlabel("s", fontsize=7)
    return save_figure(figure, path, title, dpi=90)
