"""Noise re-mixing: training pairs given another pair's noise at a random gain."""

import pytest
import torch

from tests.speech_signals import speechlike_batch as speechlike
from wavegen.audio.augment import remix_noise


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
