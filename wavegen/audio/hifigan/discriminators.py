"""HiFi-GAN's discriminators: multi-period (MPD) and multi-scale (MSD).

Kong, Kim and Bae, "HiFi-GAN: Generative Adversarial Networks for Efficient and
High Fidelity Speech Synthesis", NeurIPS 2020 (arXiv:2010.05646), §2.2–2.3.

- MPD (§2.2): for each period p in [2, 3, 5, 7, 11] the waveform (padded by
  reflection to a multiple of p) is folded into a (T/p, p) image and scored by
  2-D convolutions with (k, 1) kernels, so each column — every p-th sample —
  is judged on its own; periods are primes to overlap as little as possible.
- MSD (§2.3, from MelGAN, Kumar et al. 2019 §2.2): three 1-D convolutional
  discriminators on the raw waveform and on ×2 and ×4 average-pooled copies,
  with grouped strided convolutions (the layer shapes of HiFi-GAN's released
  code); the raw-audio one uses spectral normalisation (Miyato et al. 2018),
  the others weight normalisation.

Each sub-discriminator returns its logits (flattened per example) and the
feature map after every layer, for the feature-matching loss (eq. 4).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm, weight_norm

LEAKY_SLOPE = 0.1

Scores = tuple[list[torch.Tensor], list[list[torch.Tensor]]]     # logits and features per sub-discriminator


class PeriodDiscriminator(nn.Module):
    """One MPD branch: (B, 1, T) folded to (B, 1, ceil(T/p), p), five stride-3 convs, one stride-1, one to logits."""

    def __init__(self, period: int, channels: list[int], kernel_size: int = 5, stride: int = 3):
        super().__init__()
        self.period = period
        widths = [1, *channels]
        pad = (kernel_size - 1) // 2
        self.convs = nn.ModuleList(
            weight_norm(nn.Conv2d(c_in, c_out, (kernel_size, 1), (stride if i < len(channels) - 1 else 1, 1),
                                  padding=(pad, 0)))
            for i, (c_in, c_out) in enumerate(zip(widths, widths[1:])))
        self.conv_post = weight_norm(nn.Conv2d(widths[-1], 1, (3, 1), 1, padding=(1, 0)))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        b, c, t = x.shape
        if t % self.period:
            x = F.pad(x, (0, self.period - t % self.period), mode="reflect")
        x = x.view(b, c, -1, self.period)                                   # (B, 1, T/p, p)
        return _scores_and_features(self.convs, self.conv_post, x)


def _scores_and_features(convs: nn.ModuleList, conv_post: nn.Module, x: torch.Tensor
                         ) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Leaky-ReLU convolutions then the output convolution: (flattened logits, every layer's output)."""
    features = []
    for conv in convs:
        x = F.leaky_relu(conv(x), LEAKY_SLOPE)
        features.append(x)
    x = conv_post(x)
    features.append(x)
    return x.flatten(1), features


# HiFi-GAN's scale discriminator, layer by layer: (kernel, stride, groups) for its 7 convolutions.
SCALE_LAYERS = ((15, 1, 1), (41, 2, 4), (41, 2, 16), (41, 4, 16), (41, 4, 16), (41, 1, 16), (5, 1, 1))


class ScaleDiscriminator(nn.Module):
    """One MSD branch: (B, 1, T) -> logits (B, ~T/64) through HiFi-GAN's seven grouped convolutions.

    ``channels`` are the seven output widths (paper: 128, 128, 256, 512, 1024, 1024, 1024);
    narrower ones keep the layer shapes, with the groups cut to what divides both widths.
    """

    def __init__(self, channels: list[int], spectral: bool = False):
        super().__init__()
        if len(channels) != len(SCALE_LAYERS):
            raise ValueError(f"msd_channels needs {len(SCALE_LAYERS)} widths (one per layer), got {len(channels)}")
        norm = spectral_norm if spectral else weight_norm
        widths = [1, *channels]
        self.convs = nn.ModuleList(
            norm(nn.Conv1d(c_in, c_out, kernel, stride, groups=math.gcd(groups, c_in, c_out),
                           padding=(kernel - 1) // 2))
            for (kernel, stride, groups), c_in, c_out in zip(SCALE_LAYERS, widths, widths[1:]))
        self.conv_post = norm(nn.Conv1d(widths[-1], 1, 3, 1, padding=1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        return _scores_and_features(self.convs, self.conv_post, x)


class VocoderDiscriminator(nn.Module):
    """MPD and MSD together: ``(B, 1, T) -> (logits, features)``, one entry per sub-discriminator (MPD first)."""

    def __init__(self, periods: list[int], period_channels: list[int], scales: int, scale_channels: list[int]):
        super().__init__()
        if len(period_channels) < 2:
            raise ValueError(f"mpd_channels needs at least 2 widths, got {len(period_channels)}")
        self.periods = nn.ModuleList(PeriodDiscriminator(p, period_channels) for p in periods)
        self.scales = nn.ModuleList(ScaleDiscriminator(scale_channels, spectral=(i == 0)) for i in range(scales))
        self.pool = nn.AvgPool1d(4, 2, padding=2)

    def forward(self, x: torch.Tensor) -> Scores:
        logits, features = [], []
        for branch in self.periods:
            score, maps = branch(x)
            logits.append(score)
            features.append(maps)
        for i, branch in enumerate(self.scales):
            if i:
                x = self.pool(x)                                           # ×2 coarser per scale
            score, maps = branch(x)
            logits.append(score)
            features.append(maps)
        return logits, features
