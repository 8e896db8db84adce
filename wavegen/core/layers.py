"""Reusable layers and stabilisers for GAN training.

- Virtual batch normalisation and minibatch discrimination: Salimans et al.,
  "Improved Techniques for Training GANs" (2016), sections 3.4 and 3.2.
- Instance noise: Sønderby et al., "Amortised MAP Inference for Image
  Super-resolution" (2017), appendix; Arjovsky & Bottou (2017).
"""

from __future__ import annotations

import torch
from torch import nn

# Per-channel statistics of a reference batch: (mean, mean of squares), each (1, C, 1),
# and the reference batch size N, which sets the blending weight 1/(N+1).
RefStats = tuple[torch.Tensor, torch.Tensor, int]


class VirtualBatchNorm(nn.Module):
    """Batch norm whose statistics come from a fixed reference batch.

    Call once with ``reference=None`` on the reference batch: it normalises that
    batch with its own statistics and returns them. Then call on real inputs
    with those statistics; each example is normalised with the reference
    statistics blended with its own, weighted 1/(N+1) as in Salimans et al.,
    so an example's output does not depend on the other examples of its batch.

    Input and output are ``(B, C, T)``.
    """

    def __init__(self, num_features: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.gamma = nn.Parameter(torch.ones(1, num_features, 1))
        self.beta = nn.Parameter(torch.zeros(1, num_features, 1))

    def forward(self, x: torch.Tensor, reference: RefStats | None = None
                ) -> tuple[torch.Tensor, RefStats]:
        if reference is None:
            mean = x.mean(dim=(0, 2), keepdim=True)                  # (1, C, 1)
            mean_sq = x.pow(2).mean(dim=(0, 2), keepdim=True)
            return self._normalise(x, mean, mean_sq), (mean, mean_sq, x.shape[0])
        ref_mean, ref_mean_sq, n = reference
        own_mean = x.mean(dim=2, keepdim=True)                       # (B, C, 1)
        own_mean_sq = x.pow(2).mean(dim=2, keepdim=True)
        w_new = 1.0 / (n + 1.0)
        mean = w_new * own_mean + (1.0 - w_new) * ref_mean
        mean_sq = w_new * own_mean_sq + (1.0 - w_new) * ref_mean_sq
        return self._normalise(x, mean, mean_sq), reference

    def _normalise(self, x, mean, mean_sq):
        var = (mean_sq - mean.pow(2)).clamp_min(0.0)
        return (x - mean) * torch.rsqrt(var + self.eps) * self.gamma + self.beta


class MinibatchDiscrimination(nn.Module):
    """Append, to each feature vector, how close it is to the others in the batch.

    ``(B, A) -> (B, A + out_features)``: with M = x T reshaped to (B, out, kernel_dims),
    o(x_i)_b = sum_{j != i} exp(-||M_i,b - M_j,b||_1) (Salimans et al. eq. in §3.2).
    """

    def __init__(self, in_features: int, out_features: int, kernel_dims: int = 5):
        super().__init__()
        self.out_features, self.kernel_dims = out_features, kernel_dims
        self.T = nn.Parameter(torch.randn(in_features, out_features * kernel_dims) * 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        M = (x @ self.T).view(-1, self.out_features, self.kernel_dims)     # (B, out, k)
        l1 = (M.unsqueeze(0) - M.unsqueeze(1)).abs().sum(dim=3)            # (B, B, out)
        o = torch.exp(-l1).sum(dim=0) - 1.0                                # exclude self: exp(0) = 1
        return torch.cat([x, o], dim=1)


def instance_noise(x: torch.Tensor, std: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Add N(0, std²) noise to discriminator inputs (real and fake alike)."""
    if std <= 0:
        return x
    noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return x + std * noise


def annealed_noise_std(step: int, initial_std: float, anneal_steps: int) -> float:
    """Linearly anneal the instance-noise level from ``initial_std`` to 0 over ``anneal_steps``."""
    if anneal_steps <= 0:
        return 0.0
    return initial_std * max(0.0, 1.0 - step / anneal_steps)


def one_sided_label_smoothing(real_logits: torch.Tensor, value: float = 0.9) -> torch.Tensor:
    """Targets for real examples smoothed to ``value``; fake targets stay at 0 (one-sided)."""
    return torch.full_like(real_logits, value)


def kaiming_init_(module: nn.Module, negative_slope: float) -> nn.Module:
    """He et al. (2015) initialisation for every (transposed) convolution under ``module``.

    Weights ~ N(0, 2 / ((1 + a²) · fan)) with ``a`` the slope of the (P/Leaky)ReLU
    that follows, fan counted over the inputs of one output sample, biases zero:
    activations keep their scale through a deep stack instead of shrinking by a
    constant factor per layer as with PyTorch's default (a = √5) initialisation.
    """
    for m in module.modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d)):
            nn.init.kaiming_normal_(m.weight, a=negative_slope, mode="fan_in")
        elif isinstance(m, (nn.ConvTranspose1d, nn.ConvTranspose2d)):
            # weight is (C_in, C_out, K): "fan_out" counts C_in * K, the inputs of one output
            nn.init.kaiming_normal_(m.weight, a=negative_slope, mode="fan_out")
        else:
            continue
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    return module


def gated(z: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """The gated activation unit tanh(z_f) ⊙ σ(z_g) over the two halves of ``dim`` (van den Oord et al. 2016:
    WaveNet on the channels of its last dim, the gated PixelCNN on dim 1)."""
    f, g = z.chunk(2, dim=dim)
    return torch.tanh(f) * torch.sigmoid(g)
