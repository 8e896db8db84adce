"""Test signals for the speech tests: a speech-like signal, a clean and a noisy one as fixtures, a pitch tracker, WAV files."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal
import soundfile as sf
import torch

FS = 16000


def speech_like(seconds: float = 2.0, fs: int = FS, seed: int = 0) -> np.ndarray:
    """A voiced, speech-like signal: a gliding glottal pulse train through three formant
    resonators, gated by a syllable-rate envelope, over a faint noise floor."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * fs)) / fs
    f0 = 120 + 15 * np.sin(2 * np.pi * 0.7 * t)
    pulses = (np.diff(np.floor(np.cumsum(f0 / fs)), prepend=0) > 0).astype(float)
    x = pulses
    for centre, bandwidth in [(600, 80), (1400, 120), (2600, 200)]:
        radius = np.exp(-np.pi * bandwidth / fs)
        x = scipy.signal.lfilter([1 - radius], [1, -2 * radius * np.cos(2 * np.pi * centre / fs), radius ** 2], x)
    x = x * np.sqrt(np.clip(np.sin(2 * np.pi * 2.0 * t), 0, None))
    x = x + 1e-3 * np.max(np.abs(x)) * rng.standard_normal(len(t))
    return 0.5 * x / np.max(np.abs(x))


@pytest.fixture(scope="module")
def clean() -> np.ndarray:
    return speech_like()


@pytest.fixture(scope="module")
def noisy(clean) -> np.ndarray:
    return clean + 0.03 * np.random.default_rng(1).standard_normal(len(clean))


def f0_track(audio, sr, fmin=50.0, fmax=420.0, frame_s=0.04, hop_s=0.01, threshold=0.6):
    """f0 (Hz) of each voiced frame by normalised autocorrelation; NaN where unvoiced or quiet."""
    return _track(audio, sr, fmin, fmax, frame_s, hop_s, threshold)[0]


def voiced_fraction(audio, sr):
    """Of the frames with energy (within 13 dB of the mean power), the fraction that are voiced."""
    f0, loud = _track(audio, sr, 50.0, 420.0, 0.04, 0.01, 0.6)
    return np.mean(~np.isnan(f0[loud]))


def _track(audio, sr, fmin, fmax, frame_s, hop_s, threshold):
    n, hop, lo, hi = int(frame_s * sr), int(hop_s * sr), int(sr / fmax), int(sr / fmin)
    starts = np.arange(0, audio.size - n - hi, hop)
    loud = np.array([np.mean(audio[s:s + n] ** 2) for s in starts]) > 0.05 * np.mean(audio ** 2)
    f0 = np.full(starts.size, np.nan)
    for i in np.flatnonzero(loud):
        x = audio[starts[i]:starts[i] + n + hi]
        head = x[:n] - x[:n].mean()
        shifted = np.lib.stride_tricks.sliding_window_view(x, n)[lo:hi]
        shifted = shifted - shifted.mean(axis=1, keepdims=True)
        r = shifted @ head / np.sqrt(np.sum(shifted ** 2, axis=1) * np.sum(head ** 2) + 1e-20)
        if r.max() > threshold:
            f0[i] = sr / (lo + np.argmax(r))
    return f0, loud


def speechlike_batch(batch=4, length=4096, seed=0):
    """(batch, length) harmonic tones at 100–250 Hz under a syllable-rate envelope, in torch."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(length) / 16000
    f0 = 100 + 150 * torch.rand(batch, 1, generator=g)
    harmonics = sum(torch.sin(2 * math.pi * k * f0 * t) / k for k in range(1, 12))
    return 0.1 * harmonics * (0.5 + 0.5 * torch.sin(2 * math.pi * 4 * t))      # syllable-rate envelope


def write_wav(path, seconds, rate, channels=1, seed=0, subtype=None, signal=None):
    """A speech-like tone with a little noise (or ``signal``) written to ``path``; returns the path."""
    rng = np.random.default_rng(seed)
    frames = int(round(seconds * rate))
    if signal is None:
        t = np.arange(frames) / rate
        speechy = 0.3 * np.sin(2 * np.pi * 220 * t)[:, None] * (1 + np.sin(2 * np.pi * 3 * t))[:, None] / 2
        signal = speechy + 0.05 * rng.standard_normal((frames, channels))
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.asarray(signal, dtype=np.float32).reshape(frames, channels), rate, subtype=subtype)
    return path


def read_wav(path):
    """(frames × channels float32, rate)."""
    audio, rate = sf.read(path, dtype="float32", always_2d=True)
    return audio, rate


def ljspeech_corpus(root, clips, seconds, rate=22050):
    """A tiny LJSpeech-1.1 layout: metadata.csv and wavs/ of tones."""
    (root / "wavs").mkdir(parents=True)
    for i in range(clips):
        sf.write(str(root / "wavs" / f"LJ001-{i + 1:04d}.wav"), 0.1 * np.sin(np.arange(int(seconds * rate)) / 7),
                 rate, subtype="PCM_16")
    (root / "metadata.csv").write_text("".join(f"LJ001-{i + 1:04d}|Words {i}.|Words {i}.\n" for i in range(clips)))
    return root
