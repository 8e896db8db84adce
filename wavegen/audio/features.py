"""Signal-level features shared by audio models."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch


def preemphasis(x: torch.Tensor, coef: float = 0.95) -> torch.Tensor:
    """y[t] = x[t] - coef * x[t-1] along the last axis (y[0] = x[0])."""
    if coef == 0:
        return x
    return torch.cat([x[..., :1], x[..., 1:] - coef * x[..., :-1]], dim=-1)



def mu_law_encode(x: torch.Tensor, bins: int = 256) -> torch.Tensor:
    """Waveform in [-1, 1] -> class indices 0..bins-1 (ITU-T G.711 companding, μ = bins - 1).

    WaveNet (van den Oord et al. 2016, §2.2) models 8-bit μ-law values with a softmax.
    """
    mu = bins - 1
    x = x.clamp(-1.0, 1.0)
    companded = torch.sign(x) * torch.log1p(mu * x.abs()) / math.log1p(mu)
    return ((companded + 1) / 2 * mu + 0.5).long().clamp(0, mu)


def mu_law_decode(index: torch.Tensor, bins: int = 256) -> torch.Tensor:
    """Class indices -> waveform in [-1, 1] (inverse of :func:`mu_law_encode` up to quantisation)."""
    mu = bins - 1
    companded = 2 * index.float() / mu - 1
    return torch.sign(companded) * torch.expm1(companded.abs() * math.log1p(mu)) / mu


@dataclass(frozen=True)
class MelSpec:
    """Log-mel analysis parameters (the conditioning features of WaveNet vocoders)."""

    sample_rate: int = 16000
    n_fft: int = 1024
    hop: int = 256
    n_mels: int = 80
    fmin: float = 0.0
    fmax: float | None = None


def log_mel(audio: torch.Tensor, spec: MelSpec) -> torch.Tensor:
    """(..., T) waveform -> (..., n_mels, ceil(T / hop)) natural-log mel magnitudes.

    Frame f is centred on sample f·hop (reflect padding at the edges, as
    librosa and Tacotron 2 do); magnitudes are floored at 1e-5 before the log.
    """
    frames = -(-audio.shape[-1] // spec.hop)
    return torch.log(_mel_transform(spec, audio.device)(audio.float()).clamp_min(1e-5))[..., :frames]


@functools.lru_cache(maxsize=16)
def _mel_transform(spec: MelSpec, device: torch.device):
    """The analysis for ``spec`` on ``device``, built once: training steps call :func:`log_mel` every time."""
    import torchaudio
    return torchaudio.transforms.MelSpectrogram(
        sample_rate=spec.sample_rate, n_fft=spec.n_fft, hop_length=spec.hop, n_mels=spec.n_mels,
        f_min=spec.fmin, f_max=spec.fmax, power=1.0, center=True, pad_mode="reflect", norm="slaney",
        mel_scale="slaney").to(device)


def griffin_lim(magnitude: torch.Tensor, n_fft: int, hop: int, iterations: int,
                length: int | None = None, momentum: float = 0.99) -> torch.Tensor:
    """(..., n_fft // 2 + 1, frames) STFT magnitude -> (..., T) waveform whose STFT has about that magnitude.

    Griffin and Lim 1984, with the momentum of Perraudin, Balazs and Søndergaard
    2013 ("A fast Griffin-Lim algorithm"), through ``torchaudio.functional.griffinlim``:
    Hann window of ``n_fft``, frames centred on multiples of ``hop``. The phase
    starts at zero, so the same magnitude always gives the same waveform.
    """
    import torchaudio.functional
    window = torch.hann_window(n_fft, device=magnitude.device)
    return torchaudio.functional.griffinlim(magnitude.float(), window, n_fft, hop, n_fft, 1.0, iterations,
                                            momentum, length, False)


def spectral_convergence(estimate: torch.Tensor, target: torch.Tensor) -> float:
    """‖|S| − |Ŝ|‖_F / ‖|S|‖_F between two magnitude spectrograms (0 is a perfect match)."""
    return float(torch.linalg.norm(target - estimate) / torch.linalg.norm(target).clamp_min(1e-12))
