"""The multi-resolution STFT loss the audio models train with."""

import math

import pytest
import torch

from tests.speech_signals import speechlike_batch as speechlike
from wavegen.audio.losses import multi_resolution_stft_loss


def test_stft_loss_is_zero_for_a_perfect_estimate_and_grows_with_the_error():
    clean = speechlike()
    g = torch.Generator().manual_seed(1)
    noise = torch.randn(clean.shape, generator=g)
    losses = [multi_resolution_stft_loss(clean + level * noise, clean).item() for level in (0.0, 0.003, 0.01, 0.03)]
    assert losses[0] == pytest.approx(0.0, abs=1e-6)
    assert losses == sorted(losses) and losses[1] > 0.05


def test_stft_loss_looks_at_the_spectrum_not_the_samples():
    """A one-sample delay changes nothing a listener hears but is a large waveform L1; the STFT loss
    of the delay is far below that of noise with the same L1."""
    clean = speechlike()
    delayed = torch.roll(clean, 1, dims=-1)
    delay_l1 = (delayed - clean).abs().mean().item()
    noisy = clean + delay_l1 / (2 / math.pi) ** 0.5 * torch.randn(clean.shape, generator=torch.Generator().manual_seed(2))
    assert (noisy - clean).abs().mean().item() == pytest.approx(delay_l1, rel=0.05)             # same mean |error|
    assert multi_resolution_stft_loss(delayed, clean) < 0.2 * multi_resolution_stft_loss(noisy, clean)


def test_stft_loss_has_gradients_in_float32_under_bf16():
    clean = speechlike(batch=2)
    estimate = (clean + 0.01).to(torch.bfloat16).requires_grad_(True)
    loss = multi_resolution_stft_loss(estimate, clean.to(torch.bfloat16))
    loss.backward()
    assert loss.dtype == torch.float32 and torch.isfinite(estimate.grad.float()).all()
    assert estimate.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="shapes differ"):
        multi_resolution_stft_loss(clean[:1], clean)
