"""The VAE family: reparameterisation, likelihoods, the ELBO and the importance-weighted bound.

- Kingma and Welling 2014 ("Auto-Encoding Variational Bayes"): an encoder gives
  q(z|x) = N(μ, diag σ²); z = μ + σ·ε with ε ~ N(0, I) (the reparameterisation
  trick, §2.4); the evidence lower bound is
  ELBO(x) = E_q[log p(x|z)] − KL(q(z|x) ‖ N(0, I)) ≤ log p(x), with the KL in
  closed form (appendix B): ½ Σ_j (μ_j² + σ_j² − 1 − log σ_j²).
- Burda, Grosse and Salakhutdinov 2016 ("Importance Weighted Autoencoders"),
  eq. 8: L_k(x) = E[log (1/k) Σ_i p(x, z_i) / q(z_i|x)], computed with
  log-sum-exp; L_1 is the ELBO, L_k grows with k and tends to log p(x).
- Kingma, Rezende, Mohamed and Welling 2014 ("Semi-Supervised Learning with
  Deep Generative Models"), model M2: p(x, y, z) = p(y) p(z) p(x|y, z) with a
  uniform p(y), q(z|x, y) and a classifier q(y|x). A labelled pair's bound is
  −L(x, y) = E_q[log p(x|y, z)] + log p(y) − KL (eq. 6); an unlabelled x's is
  −U(x) = Σ_y q(y|x)(−L(x, y)) + H(q(y|x)) (eq. 7); the objective adds
  α·E_labelled[−log q(y|x)] with α = 0.1·N (eq. 9, §4.2).
- Options against posterior collapse: KL warm-up (Bowman et al. 2016; Sønderby
  et al. 2016), the KL weight rising linearly from 0 to 1, and free bits
  (Kingma et al. 2016, "Improved Variational Inference with Inverse
  Autoregressive Flow", eq. 15), each latent dimension's batch-mean KL
  counted as at least λ nats.

A model is any module with ``encode(x, y=None) -> (mu, logvar)`` and
``log_likelihood(x, z, y=None) -> (B,)`` (its decoder's log p(x|z)); ``y`` is
a condition (a class label, for conditional models) or None. Nothing here
knows whether x is an image or a sound. A semi-supervised (M2) model adds
``classify(x) -> (B, classes)`` logits and ``num_classes``.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import torch
import torch.nn.functional as F
from torch import nn

from wavegen.core.autoregressive import DiscretizedLogisticMixture
from wavegen.core.likelihood import LikelihoodTask

LIKELIHOODS = ("bernoulli", "gaussian", "discretized_logistic")


class VAEModel(Protocol):
    def encode(self, x: torch.Tensor, y: Any = None) -> tuple[torch.Tensor, torch.Tensor]: ...

    def log_likelihood(self, x: torch.Tensor, z: torch.Tensor, y: Any = None) -> torch.Tensor: ...


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """z = μ + exp(½ log σ²)·ε, ε ~ N(0, I): a draw from q whose gradient reaches μ and σ."""
    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)


def gaussian_log_density(z: torch.Tensor, mu: torch.Tensor | float = 0.0,
                         logvar: torch.Tensor | float = 0.0) -> torch.Tensor:
    """log N(z; μ, diag σ²) summed over every axis but the first: (B, ...) -> (B,)."""
    logvar = torch.as_tensor(logvar, dtype=z.dtype, device=z.device)
    log_p = -0.5 * (math.log(2 * math.pi) + logvar + (z - mu) ** 2 / logvar.exp())
    return log_p.flatten(1).sum(dim=1) if log_p.dim() > 1 else log_p


def kl_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, diag σ²) ‖ N(0, I)) per latent dimension, in nats: same shape as ``mu``."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)


def log_likelihood(kind: str, params: torch.Tensor | tuple, x: torch.Tensor, *, bins: int = 256) -> torch.Tensor:
    """log p(x | decoder output) summed over every axis but the first: (B,).

    - ``bernoulli``: ``params`` are logits shaped like x, x in [0, 1] (binary, or
      grey levels read as probabilities).
    - ``gaussian``: ``params`` is (mean, logvar), logvar a tensor like the mean
      (learned variance) or a number (fixed variance).
    - ``discretized_logistic``: ``params`` (B, 3K, ...) for a K-component
      mixture of logistics over ``bins`` levels of x in [-1, 1] (Salimans et al.
      2017; the core's autoregressive output distribution).
    """
    if kind == "bernoulli":
        return -F.binary_cross_entropy_with_logits(params.float(), x.float(), reduction="none").flatten(1).sum(1)
    if kind == "gaussian":
        mean, logvar = params
        return gaussian_log_density(x.float(), mean.float(), logvar)
    if kind == "discretized_logistic":
        components = params.shape[1] // 3
        mixture = DiscretizedLogisticMixture(components, bins)
        nll = mixture.nll(params.flatten(2), x.flatten(1))          # (B, D)
        return -nll.sum(dim=1)
    raise ValueError(f"unknown likelihood {kind!r}; choose from {', '.join(LIKELIHOODS)}")


def elbo_terms(model: VAEModel, x: torch.Tensor, y: Any = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(log p(x|z) at one z ~ q(z|x), KL per latent dimension (B, latent)) for a batch."""
    mu, logvar = model.encode(x, y)
    z = reparameterize(mu, logvar)
    return model.log_likelihood(x, z, y), kl_standard_normal(mu, logvar)


def elbo(model: VAEModel, x: torch.Tensor, y: Any = None) -> torch.Tensor:
    """A one-sample estimate of the ELBO of each example, (B,) nats."""
    reconstruction, kl = elbo_terms(model, x, y)
    return reconstruction - kl.flatten(1).sum(1)


@torch.no_grad()
def iwae_bound(model: VAEModel, x: torch.Tensor, k: int, y: Any = None, chunk: int = 50) -> torch.Tensor:
    """L_k(x) of Burda et al. (eq. 8) for each example, (B,) nats, with ``k`` importance samples.

    The k draws are taken ``chunk`` at a time, so memory stays that of ``chunk``
    forward passes whatever k is.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    mu, logvar = model.encode(x, y)
    batch = x.shape[0]
    log_weights = []
    for start in range(0, k, chunk):
        n = min(chunk, k - start)
        x_n, mu_n, logvar_n = (_tile(t, n) for t in (x, mu, logvar))      # (n·B, ...): n draws per example
        z = reparameterize(mu_n, logvar_n)
        log_w = (model.log_likelihood(x_n, z, None if y is None else _tile(y, n))
                 + gaussian_log_density(z) - gaussian_log_density(z, mu_n, logvar_n))
        log_weights.append(log_w.view(n, batch))
    return torch.logsumexp(torch.cat(log_weights), dim=0) - math.log(k)


def _tile(t: torch.Tensor, n: int) -> torch.Tensor:
    return t.repeat(n, *([1] * (t.dim() - 1)))


def _dimensions(x: torch.Tensor) -> int:
    """Values per example (the losses are per data dimension); an empty batch is a one-line ValueError."""
    if x.dim() == 0 or x.shape[0] == 0:
        raise ValueError(f"a batch of {tuple(x.shape)}: no examples to take a bound of (is a data split empty?)")
    return x[0].numel()


class VAETask(LikelihoodTask):
    """Maximise the ELBO (minimise −ELBO per data dimension, nats) with optional KL warm-up and free bits.

    ``kl_warmup_steps`` > 0: the KL weight rises linearly from 0 to 1 over that
    many steps. ``free_bits`` > 0: each latent dimension's batch-mean KL counts
    as at least that many nats. Logs the reconstruction and KL (nats per example)
    beside the loss; ``evaluate`` gives the exact-KL ELBO on held-out batches.
    ``augment(x)`` transforms training batches only (with the RNG the trainer
    seeds per step), e.g. a fresh binarisation of grey-level images each step.
    """

    def __init__(self, model: nn.Module, *, lr: float = 1e-3, grad_clip: float = 0.0, validation=(),
                 kl_warmup_steps: int = 0, free_bits: float = 0.0, augment=None):
        super().__init__(model, lr=lr, grad_clip=grad_clip, validation=validation)
        self.augment = augment          # applied to training x only (e.g. dynamic binarisation)
        if kl_warmup_steps < 0 or free_bits < 0:
            raise ValueError(f"kl_warmup_steps and free_bits must be at least 0, got {kl_warmup_steps}, {free_bits}")
        self.kl_warmup_steps, self.free_bits = kl_warmup_steps, free_bits
        self.step = 0

    @staticmethod
    def split(batch) -> tuple[torch.Tensor, Any]:
        """(x, y): a batch is x alone, or (x, label)."""
        return (batch[0], batch[1]) if isinstance(batch, (tuple, list)) else (batch, None)

    def kl_weight(self) -> float:
        return 1.0 if not self.kl_warmup_steps else min(1.0, self.step / self.kl_warmup_steps)

    def loss(self, batch) -> torch.Tensor:
        x, y = self.split(batch)
        dimensions = _dimensions(x)
        if self.model.training and self.augment is not None:
            x = self.augment(x)
        reconstruction, kl = elbo_terms(self.model, x, y)
        kl = kl.flatten(1)
        if self.model.training and self.free_bits:
            counted = kl.mean(dim=0).clamp_min(self.free_bits).sum()   # per dimension, over the batch
        else:
            counted = kl.sum(dim=1).mean()
        weight = self.kl_weight() if self.model.training else 1.0
        self._last = {"reconstruction": reconstruction.mean().item(), "kl": kl.sum(dim=1).mean().item()}
        return (weight * counted - reconstruction.mean()) / dimensions

    def train_step(self, batch, step: int) -> dict[str, float]:
        self.step = step
        logs = super().train_step(batch, step)
        return {**logs, **self._last, "kl_weight": self.kl_weight()}


# ---------------------------------------------------------------- semi-supervised M2

def labelled_bound(model, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """−L(x, y) of Kingma et al. 2014 (eq. 6), (B,) nats: the conditional ELBO plus log p(y), p(y) uniform."""
    return elbo(model, x, y) - math.log(model.num_classes)


def unlabelled_bound(model, x: torch.Tensor, logits: torch.Tensor | None = None) -> torch.Tensor:
    """−U(x) (eq. 7), (B,) nats: −L(x, y) averaged over q(y|x), every class enumerated, plus H(q(y|x))."""
    logits = model.classify(x) if logits is None else logits
    classes, batch = model.num_classes, x.shape[0]
    log_q = torch.log_softmax(logits.float(), dim=-1)                            # (B, K)
    every_y = torch.arange(classes, device=x.device).repeat_interleave(batch)    # (K·B,): class k for each x
    bounds = labelled_bound(model, _tile(x, classes), every_y).view(classes, batch).T     # (B, K)
    q = log_q.exp()
    return (q * bounds).sum(dim=1) - (q * log_q).sum(dim=1)


class SemiSupervisedVAETask(LikelihoodTask):
    """M2's objective J^α (Kingma et al. 2014, eq. 9) on batches of unlabelled and labelled examples.

    A batch is ``(x_unlabelled, x_labelled, y_labelled)``. J^α sums −L over the
    N_l labelled and −U over the N_u unlabelled examples and adds
    α·E_labelled[−log q(y|x)]; divided by N = N_l + N_u, one minibatch's unbiased
    estimate is (N_l/N)·mean L + (N_u/N)·mean U + (α/N)·mean CE, and with the
    paper's α = ``alpha_ratio``·N the last weight is ``alpha_ratio``. The loss is
    in nats per data dimension. ``evaluate`` adds q(y|x)'s accuracy on
    ``validation`` batches of (x, y).
    """

    def __init__(self, model: nn.Module, *, labelled: int, unlabelled: int, alpha_ratio: float = 0.1,
                 lr: float = 3e-4, validation=(), augment=None):
        super().__init__(model, lr=lr, grad_clip=0.0, validation=validation)
        if labelled < 1 or unlabelled < 0 or alpha_ratio < 0:
            raise ValueError(f"need at least one labelled example, unlabelled ≥ 0 and alpha_ratio ≥ 0, got "
                             f"{labelled}, {unlabelled}, {alpha_ratio}")
        total = labelled + unlabelled
        self.labelled_weight, self.unlabelled_weight = labelled / total, unlabelled / total
        self.alpha_ratio, self.augment = alpha_ratio, augment

    def loss(self, batch) -> torch.Tensor:
        x_u, x_l, y_l = batch
        dimensions = _dimensions(x_l)
        if self.model.training and self.augment is not None:
            x_u, x_l = self.augment(x_u), self.augment(x_l)
        labelled = -labelled_bound(self.model, x_l, y_l).mean()
        cross_entropy = F.cross_entropy(self.model.classify(x_l).float(), y_l)
        loss = self.labelled_weight * labelled + self.alpha_ratio * cross_entropy * dimensions
        logs = {"labelled": labelled.item(), "cross_entropy": cross_entropy.item()}
        if self.unlabelled_weight:
            unlabelled = -unlabelled_bound(self.model, x_u).mean()
            loss = loss + self.unlabelled_weight * unlabelled
            logs["unlabelled"] = unlabelled.item()
        self._last = logs
        return loss / dimensions

    def train_step(self, batch, step: int) -> dict[str, float]:
        return {**super().train_step(batch, step), **self._last}

    def evaluate(self) -> dict[str, float]:
        if not self.validation:
            return {}
        device = next(self.model.parameters()).device
        right = total = 0
        bound = 0.0
        for x, y in self.validation:
            x, y = x.to(device), y.to(device)
            right += (self.model.classify(x).argmax(-1) == y).sum().item()
            total += y.numel()
            bound += unlabelled_bound(self.model, x).sum().item()
        return {"val_accuracy": right / total, "val_unlabelled_bound": bound / total}
