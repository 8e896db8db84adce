"""Noise for the demo corpora's noisy side, at 48 kHz, and mixing at a given SNR.

Stand-ins for the DEMAND recordings (Thiemann, Ito and Vincent, "The Diverse
Environments Multi-channel Acoustic Noise Database", ICA 2013) that
VoiceBank-DEMAND mixes in: stationary coloured noise (white, pink, brown, and
noise with the long-term average speech spectrum), babble cut from other
talkers, mains hum, and street noise (traffic rumble and tyres under passing
cars, with a few clatters). :func:`mix_at_snr` scales the noise to an SNR over
the whole utterance, as the VoiceBank-DEMAND mixing did.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.fft

SAMPLE_RATE = 48_000
NOISE_KINDS = ("white", "pink", "brown", "speech_shaped", "babble", "hum", "street")


def _coloured(n: int, rng: np.random.Generator, gain: Callable[[np.ndarray], np.ndarray],
              sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    size = scipy.fft.next_fast_len(n, real=True)
    spectrum = scipy.fft.rfft(rng.standard_normal(size)) * gain(np.fft.rfftfreq(size, 1 / sample_rate))
    return _unit_rms(scipy.fft.irfft(spectrum, size)[:n])


_NOISE_SPECTRA = {   # amplitude against frequency (Hz)
    "pink": lambda f: np.maximum(f, 20.0) ** -0.5,
    "brown": lambda f: 1 / np.maximum(f, 20.0),
    # long-term speech spectrum: flat to ~500 Hz, then about -8 dB/octave
    "speech_shaped": lambda f: (f / (f + 100)) * (1 + (f / 500) ** 2) ** -0.7,
}


def _unit_rms(x: np.ndarray) -> np.ndarray:
    x = x - x.mean()
    return x / (np.sqrt(np.mean(x ** 2)) + 1e-12)


def make_noise(kind: str, n: int, rng: np.random.Generator, babble_talkers: list[np.ndarray],
               sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """``n`` samples of unit-RMS noise of one of :data:`NOISE_KINDS`.

    ``babble_talkers`` are recordings of other talkers, each at least ``n``
    samples long at ``sample_rate``, that "babble" mixes four to seven of (the
    other kinds need none).
    """
    t = np.arange(n) / sample_rate
    if kind == "white":
        return _unit_rms(rng.standard_normal(n))
    if kind in _NOISE_SPECTRA:
        return _coloured(n, rng, _NOISE_SPECTRA[kind], sample_rate)
    if kind == "babble":
        size = min(len(babble_talkers), rng.integers(4, 8))
        chosen = rng.choice(len(babble_talkers), size=size, replace=False)
        mix = np.zeros(n)
        for talker in (babble_talkers[i] for i in chosen):
            start = rng.integers(0, talker.size - n + 1)
            mix += _unit_rms(talker[start:start + n]) * 10 ** (rng.uniform(-3, 3) / 20)
        return _unit_rms(mix)
    if kind == "hum":   # mains hum with harmonics, a slow wobble and a faint floor
        mains = rng.choice([50.0, 60.0]) * (1 + rng.uniform(-0.003, 0.003))
        gains, phases = rng.uniform(0.3, 1.0, 12), rng.uniform(0, 2 * np.pi, 12)
        hum = sum(gains[h - 1] / h ** 0.8 * np.sin(2 * np.pi * h * mains * t + phases[h - 1])
                  for h in range(1, 13))
        wobble = 1 + 0.15 * np.sin(2 * np.pi * rng.uniform(0.2, 1.0) * t + rng.uniform(0, 2 * np.pi))
        return _unit_rms(_unit_rms(hum) * wobble + 0.05 * _coloured(n, rng, _NOISE_SPECTRA["pink"], sample_rate))
    if kind == "street":  # rumble and tyre noise under passing cars, plus a few clatters
        rumble = _coloured(n, rng, lambda f: 1 / np.maximum(f, 30.0), sample_rate)
        tyres = _coloured(n, rng, lambda f: np.exp(-0.5 * (np.log2(np.maximum(f, 1.0) / 1000) / 1.2) ** 2),
                          sample_rate)
        traffic = np.full(n, rng.uniform(0.3, 0.6))
        for _ in range(rng.integers(1, 4)):
            traffic += rng.uniform(0.5, 1.5) * np.exp(-0.5 * ((t - rng.uniform(-0.5, t[-1] + 0.5))
                                                              / rng.uniform(0.4, 1.2)) ** 2)
        street = traffic * (rumble + 0.5 * tyres)
        for _ in range(rng.integers(0, 4)):
            i0, decay = rng.integers(0, n), rng.uniform(0.01, 0.04) * sample_rate
            burst = rng.standard_normal(min(n - i0, int(5 * decay))) * rng.uniform(1, 3)
            street[i0:i0 + burst.size] += burst * np.exp(-np.arange(burst.size) / decay)
        return _unit_rms(street)
    raise ValueError(f"unknown noise kind {kind!r}; choose from {', '.join(NOISE_KINDS)}")


def mix_at_snr(clean: np.ndarray, noise: np.ndarray, snr_db: float, peak: float = 0.99):
    """``(clean, noisy)``: noise scaled to ``snr_db`` over the whole utterance, both kept below ``peak``."""
    noise = noise * np.sqrt(np.mean(clean ** 2) / (np.mean(noise ** 2) * 10 ** (snr_db / 10)))
    noisy = clean + noise
    scale = min(1.0, peak / max(np.abs(noisy).max(), np.abs(clean).max()))
    return clean * scale, noisy * scale
