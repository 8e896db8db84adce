"""Training losses on audio signals, shared by the audio models.

``multi_resolution_stft_loss`` is the auxiliary loss of Parallel WaveGAN
(Yamamoto, Song and Kim, ICASSP 2020, eq. 1-3): for each of several STFT
resolutions, the spectral convergence ‖|S| − |Ŝ|‖_F / ‖|S|‖_F plus the mean
absolute difference of log magnitudes, averaged over the resolutions. A
waveform L1 loss rewards matching samples; this one rewards matching the
short-time spectrum at several time-frequency trade-offs, which is what
intelligibility and quality measures (STOI, PESQ) look at.
"""

from __future__ import annotations

import torch

# (FFT size, hop, window length) at 16 kHz: 16, 32 and 64 ms Hann windows, 75 % overlap.
DEFAULT_RESOLUTIONS: tuple[tuple[int, int, int], ...] = ((256, 64, 256), (512, 128, 512), (1024, 256, 1024))


def stft_magnitude(x: torch.Tensor, n_fft: int, hop: int, win_length: int) -> torch.Tensor:
    """(B, T) -> (B, n_fft // 2 + 1, frames) magnitude of a Hann-windowed STFT, floored at 1e-7.

    Frames are centred, the signal padded by reflection (torch's default) or, when it
    is too short to reflect ``n_fft // 2`` samples, by zeros.
    """
    window = torch.hann_window(win_length, device=x.device, dtype=x.dtype)
    pad_mode = "reflect" if x.shape[-1] > n_fft // 2 else "constant"
    spec = torch.stft(x, n_fft, hop_length=hop, win_length=win_length, window=window, pad_mode=pad_mode,
                      return_complex=True)
    return spec.abs().clamp_min(1e-7)


def multi_resolution_stft_loss(estimate: torch.Tensor, target: torch.Tensor,
                               resolutions=DEFAULT_RESOLUTIONS) -> torch.Tensor:
    """Mean over ``resolutions`` of spectral convergence + log-magnitude L1, for (..., T) waveforms.

    Computed in float32 whatever the inputs' dtype (under bf16 autocast the
    generator's output is bf16, and an STFT in bf16 loses the quiet bins).
    """
    if estimate.shape != target.shape:
        raise ValueError(f"estimate and target shapes differ: {tuple(estimate.shape)} vs {tuple(target.shape)}")
    est = estimate.reshape(-1, estimate.shape[-1]).float()
    ref = target.reshape(-1, target.shape[-1]).float()
    total = est.new_zeros(())
    with torch.autocast(est.device.type, enabled=False):
        for n_fft, hop, win_length in resolutions:
            s_est = stft_magnitude(est, n_fft, hop, win_length)
            s_ref = stft_magnitude(ref, n_fft, hop, win_length)
            convergence = torch.linalg.norm(s_ref - s_est) / torch.linalg.norm(s_ref).clamp_min(1e-7)
            total = total + convergence + (s_ref.log() - s_est.log()).abs().mean()
    return total / len(resolutions)


def log_mel_energy_loss(estimate: torch.Tensor, target: torch.Tensor, sample_rate: int, n_fft: int = 512,
                        hop: int = 128, n_mels: int = 40) -> torch.Tensor:
    """Mean absolute difference of log mel-band energies, for (..., T) waveforms (32 ms frames at 16 kHz).

    Band energies sum several bins, so the random fine structure of noise-like frames averages
    out and what is compared is the spectral envelope, the quantity LPC-based quality measures
    (the LLR in CSIG and COVL) compare; the log weighs a quiet frame's envelope like a loud
    one's. Computed in float32 outside autocast, like :func:`multi_resolution_stft_loss`.
    """
    import torchaudio
    if estimate.shape != target.shape:
        raise ValueError(f"estimate and target shapes differ: {tuple(estimate.shape)} vs {tuple(target.shape)}")
    est = estimate.reshape(-1, estimate.shape[-1]).float()
    ref = target.reshape(-1, target.shape[-1]).float()
    with torch.autocast(est.device.type, enabled=False):
        filters = torchaudio.functional.melscale_fbanks(n_fft // 2 + 1, 0.0, sample_rate / 2, n_mels, sample_rate,
                                                        norm="slaney", mel_scale="slaney").to(est.device)
        bands = [(stft_magnitude(x, n_fft, hop, n_fft).square().transpose(1, 2) @ filters).clamp_min(1e-12).log()
                 for x in (est, ref)]                                          # (B, frames, n_mels)
    return (bands[0] - bands[1]).abs().mean()
