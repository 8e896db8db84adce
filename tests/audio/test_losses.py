"""Audio training aids shared by the models: the multi-resolution STFT loss and noise re-mixing."""

import math

import pytest
import torch

from wavegen.audio.augment import remix_noise
from wavegen.audio.losses import multi_resolution_stft_loss


def speechlike(batch=4, length=4096, seed=0):
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(length) / 16000
    f0 = 100 + 150 * torch.rand(batch, 1, generator=g)
    harmonics = sum(torch.sin(2 * math.pi * k * f0 * t) / k for k in range(1, 12))
    return 0.1 * harmonics * (0.5 + 0.5 * torch.sin(2 * math.pi * 4 * t))      # syllable-rate envelope


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


def test_remix_keeps_clean_speech_and_draws_new_noise_from_the_batch():
    clean = speechlike(batch=6)
    noises = 0.01 * torch.arange(1, 7).view(-1, 1) * torch.randn(6, 4096, generator=torch.Generator().manual_seed(3))
    noisy = clean + noises
    assert torch.equal(remix_noise(clean, noisy, 0.0, (-10.0, 5.0)), noisy)

    torch.manual_seed(0)
    out = remix_noise(clean, noisy, 1.0, (6.0, 6.0))                 # every pair re-mixed, noise 2x louder
    for new_noise in out - clean:
        ratios = [(new_noise / n).median().item() for n in noises]
        assert any(r == pytest.approx(10 ** (6 / 20), rel=1e-4) for r in ratios)
    torch.manual_seed(0)
    assert torch.equal(remix_noise(clean, noisy, 1.0, (6.0, 6.0)), out)   # the trainer's step seed decides


def test_remix_share_gain_range_and_clipping():
    clean = speechlike(batch=400, length=64)
    noisy = clean + 0.01 * torch.randn(clean.shape, generator=torch.Generator().manual_seed(4))
    torch.manual_seed(1)
    out = remix_noise(clean, noisy, 0.5, (-10.0, 5.0))
    changed = (out != noisy).any(dim=1)
    assert 0.4 < changed.float().mean() < 0.6
    loud = remix_noise(clean, clean + 0.9, 1.0, (20.0, 20.0))           # 9x the noise: a clipped recording
    assert loud.abs().max() == 1.0
    with pytest.raises(ValueError, match="probability"):
        remix_noise(clean, noisy, 1.5, (0.0, 0.0))
    with pytest.raises(ValueError, match="lower, upper"):
        remix_noise(clean, noisy, 0.5, (5.0, -5.0))
