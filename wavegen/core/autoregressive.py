"""Autoregressive family: p(x) = Π_t p(x_t | x_<t), trained by teacher forcing, sampled one step at a time.

What every autoregressive model in wavegen shares:

* **Output distributions** (:class:`Categorical`, :class:`DiscretizedLogisticMixture`):
  how a model's per-step parameters turn into a negative log-likelihood for
  training and into a sample for generation.
* **Draws from outside.** Sampling consumes uniform random numbers that the
  caller supplies (:func:`make_draws`): ``draws_per_step`` per example and step.
  Two implementations of the same model (plain reference, cached, fused
  kernels) given the same weights and the same draws therefore produce the
  same samples, which is how their equivalence is tested.
* **The incremental sampling contract** (:class:`IncrementalModel`):
  ``init_state`` builds whatever the model caches between steps, ``step`` maps
  (state, previous sample) to the next step's distribution parameters.
  :func:`sample_incremental` is the generic loop over it.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Protocol

import torch
import torch.nn.functional as F

from wavegen.errors import WavegenError


def check_temperature(temperature: float) -> float:
    if not (temperature > 0 and math.isfinite(temperature)):
        raise WavegenError(f"temperature must be a positive number, got {temperature}")
    return float(temperature)


class Categorical:
    """Softmax over ``bins`` classes; parameters are ``bins`` logits per step.

    Sampling is by inverse CDF on one uniform draw u: the first class whose
    cumulative (temperature-scaled) probability exceeds u. Fused kernels
    implement exactly this rule, so they agree with PyTorch draw for draw.
    """

    draws_per_step = 1
    discrete = True

    def __init__(self, bins: int = 256):
        self.bins = bins
        self.param_channels = bins
        self.initial_input = bins // 2          # the "previous sample" before the first step

    def nll(self, params: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Per-step NLL in nats: params (B, bins, T), target (B, T) class indices -> (B, T)."""
        return F.cross_entropy(params.float(), target, reduction="none")

    def sample(self, params: torch.Tensor, u: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
        """params (B, bins), u (B, 1) uniforms in [0, 1) -> (B,) class indices."""
        probs = torch.softmax(params.float() / temperature, dim=-1)
        cdf = torch.cumsum(probs, dim=-1)
        index = (cdf <= u[:, :1] * cdf[:, -1:]).sum(dim=-1)
        return index.clamp_max(self.bins - 1)


class DiscretizedLogisticMixture:
    """Mixture of ``components`` logistics discretised to ``bins`` levels on [-1, 1].

    Salimans et al. 2017 (PixelCNN++, eq. 2), as used for 16-bit audio by
    Parallel WaveNet (van den Oord et al. 2018) and Tacotron 2's WaveNet.
    Parameters per step: K mixture logits, K means, K log-scales (3K channels).
    Sampling takes two draws: one picks the component (inverse CDF), one
    draws the logistic value through its quantile function.
    """

    draws_per_step = 2
    discrete = False
    initial_input = 0.0

    def __init__(self, components: int = 10, bins: int = 65536, log_scale_min: float = -7.0):
        self.components, self.bins, self.log_scale_min = components, bins, log_scale_min
        self.param_channels = 3 * components

    def _split(self, params: torch.Tensor):
        logits, means, log_scales = params.float().split(self.components, dim=1)
        return logits, means, log_scales.clamp_min(self.log_scale_min)

    def nll(self, params: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Per-step NLL in nats: params (B, 3K, T), target (B, T) in [-1, 1] -> (B, T)."""
        logits, means, log_scales = self._split(params)
        x = target.float().unsqueeze(1)                          # (B, 1, T)
        centred = x - means
        inv_scale = torch.exp(-log_scales)
        half_bin = 1.0 / (self.bins - 1)
        cdf_plus = torch.sigmoid(inv_scale * (centred + half_bin))
        cdf_minus = torch.sigmoid(inv_scale * (centred - half_bin))
        log_cdf_plus = F.logsigmoid(inv_scale * (centred + half_bin))          # x at the lowest level
        log_one_minus_cdf_minus = -F.softplus(inv_scale * (centred - half_bin))  # x at the highest level
        mid = inv_scale * centred
        # Where the bin mass underflows, use the density at the centre times the bin width.
        log_pdf_mid = mid - log_scales - 2.0 * F.softplus(mid) + math.log(2 * half_bin)
        log_mass = torch.where(cdf_plus - cdf_minus > 1e-5,
                               torch.log((cdf_plus - cdf_minus).clamp_min(1e-12)), log_pdf_mid)
        log_prob = torch.where(x < -0.999, log_cdf_plus, torch.where(x > 0.999, log_one_minus_cdf_minus, log_mass))
        return -torch.logsumexp(log_prob + torch.log_softmax(logits, dim=1), dim=1)

    def sample(self, params: torch.Tensor, u: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
        """params (B, 3K), u (B, 2) uniforms in [0, 1) -> (B,) values in [-1, 1]."""
        logits, means, log_scales = self._split(params.unsqueeze(-1))
        logits, means, log_scales = logits[..., 0], means[..., 0], log_scales[..., 0]
        k = Categorical(self.components).sample(logits, u[:, :1], temperature)
        mean = means.gather(1, k[:, None])[:, 0]
        scale = torch.exp(log_scales.gather(1, k[:, None])[:, 0]) * temperature
        p = u[:, 1].clamp(1e-5, 1 - 1e-5)
        return (mean + scale * (torch.log(p) - torch.log1p(-p))).clamp(-1.0, 1.0)


def make_output(kind: str, **kwargs) -> Categorical | DiscretizedLogisticMixture:
    """``"categorical"`` (kwargs: bins) or ``"logistic_mixture"`` (kwargs: components, bins)."""
    if kind == "categorical":
        return Categorical(kwargs.get("bins", 256))
    if kind == "logistic_mixture":
        return DiscretizedLogisticMixture(kwargs.get("components", 10), kwargs.get("bins", 65536))
    raise WavegenError(f"unknown output distribution {kind!r}: expected categorical or logistic_mixture")


def make_draws(batch: int, steps: int, draws_per_step: int, seed: int) -> torch.Tensor:
    """(B, T, draws_per_step) float32 uniforms in [0, 1) from a seeded generator, on the CPU.

    Drawn step by step, so a longer request with the same seed and batch size
    starts with the same draws (and so the same samples).
    """
    g = torch.Generator().manual_seed(seed)
    return torch.rand(steps, batch, draws_per_step, generator=g).transpose(0, 1)


def unigram_nll(train_targets: torch.Tensor, test_targets: torch.Tensor, bins: int) -> float:
    """NLL in nats per step of ``test_targets`` under the training set's class frequencies.

    The baseline an autoregressive model must beat: it knows how often each
    class occurs but nothing of the context. Add-one smoothing keeps unseen
    classes finite.
    """
    counts = torch.bincount(train_targets.reshape(-1), minlength=bins).double() + 1.0
    log_p = torch.log(counts / counts.sum())
    return float(-log_p[test_targets.reshape(-1)].mean())


class IncrementalModel(Protocol):
    """What a model offers for step-by-step generation."""

    output: Categorical | DiscretizedLogisticMixture

    def init_state(self, batch_size: int, conditioning: Any) -> Any: ...

    def step(self, state: Any, previous: torch.Tensor, t: int) -> torch.Tensor:
        """Parameters (B, param_channels) of the distribution of sample t, given sample t-1."""


def sample_incremental(model: IncrementalModel, draws: torch.Tensor, conditioning: Any = None, *,
                       temperature: float = 1.0, progress: Callable[[int], None] | None = None) -> torch.Tensor:
    """Generate ``draws.shape[1]`` steps for ``draws.shape[0]`` examples through ``init_state``/``step``.

    Returns (B, T) samples: class indices for discrete outputs, values otherwise.
    ``progress(n)`` is called with the number of steps just finished.
    """
    temperature = check_temperature(temperature)
    batch, steps, _ = draws.shape
    output = model.output
    state = model.init_state(batch, conditioning)
    device = draws.device
    dtype = torch.long if output.discrete else torch.float32
    samples = torch.empty(batch, steps, dtype=dtype, device=device)
    previous = torch.full((batch,), output.initial_input, dtype=dtype, device=device)
    for t in range(steps):
        params = model.step(state, previous, t)
        previous = output.sample(params, draws[:, t], temperature)
        samples[:, t] = previous
        if progress is not None and (t + 1) % 256 == 0:
            progress(256)
    if progress is not None and steps % 256:
        progress(steps % 256)
    return samples
