"""The GAN family: objectives and the alternating discriminator/generator step.

Objectives (each gives the discriminator loss and the generator loss from logits):

- ``minimax``: Goodfellow et al. 2014, eq. 1 — D maximises log D(x) + log(1 − D(G(z))),
  G minimises log(1 − D(G(z))).
- ``non_saturating``: the same D; G maximises log D(G(z)) instead (Goodfellow et al. §3).
- ``least_squares``: Mao et al. 2017 (LSGAN), eq. 2 with a=0, b=c=1 — the loss SEGAN uses.
- ``wgan_gp``: Gulrajani et al. 2017, eq. 3 — critic E[D(fake)] − E[D(real)] + λ·GP.
- ``hinge``: Lim & Ye 2017 / Miyato et al. 2018 — E[max(0, 1 − D(x))] + E[max(0, 1 + D(G(z)))].

``real_label`` below 1 gives one-sided label smoothing (Salimans et al. 2016, §3.4)
for the objectives that have labels (minimax, non-saturating, least-squares).

A discriminator may be several sub-discriminators (HiFi-GAN's multi-period and
multi-scale ones, MelGAN's scales): it then returns a list of logit tensors and
every loss is the sum of the per-sub-discriminator losses (Kong et al. 2020,
eq. 5). ``feature_matching_loss`` is the L1 distance between the discriminator's
intermediate features on real and generated examples (Larsen et al. 2016;
Kumar et al. 2019, eq. 3; Kong et al. 2020, eq. 4).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from wavegen.core.distributed import average_gradients
from wavegen.core.layers import annealed_noise_std, instance_noise

OBJECTIVES = ("minimax", "non_saturating", "least_squares", "wgan_gp", "hinge")

Logits = torch.Tensor | list[torch.Tensor]      # one discriminator, or one tensor per sub-discriminator


def _per_discriminator(logits: Logits) -> list[torch.Tensor]:
    return list(logits) if isinstance(logits, (list, tuple)) else [logits]


def discriminator_loss(objective: str, real: Logits, fake: Logits, real_label: float = 1.0) -> torch.Tensor:
    """The discriminator's loss from its logits on real and generated examples (summed over sub-discriminators)."""
    if isinstance(real, (list, tuple)):
        return sum(discriminator_loss(objective, r, f, real_label)
                   for r, f in zip(real, _per_discriminator(fake), strict=True))
    if objective in ("minimax", "non_saturating"):
        return (F.binary_cross_entropy_with_logits(real, torch.full_like(real, real_label))
                + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))
    if objective == "least_squares":
        return 0.5 * (real - real_label).pow(2).mean() + 0.5 * fake.pow(2).mean()
    if objective == "wgan_gp":
        return fake.mean() - real.mean()  # the gradient penalty is added by the step
    if objective == "hinge":
        return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()
    raise ValueError(f"unknown GAN objective {objective!r}; choose from {', '.join(OBJECTIVES)}")


def generator_loss(objective: str, fake: Logits) -> torch.Tensor:
    """The generator's adversarial loss from the discriminator's logits on its output (summed over sub-discriminators)."""
    if isinstance(fake, (list, tuple)):
        return sum(generator_loss(objective, f) for f in fake)
    if objective == "minimax":
        return -F.softplus(fake).mean()           # log(1 − sigmoid(l)) = −softplus(l)
    if objective == "non_saturating":
        return F.softplus(-fake).mean()           # −log sigmoid(l)
    if objective == "least_squares":
        return 0.5 * (fake - 1.0).pow(2).mean()
    if objective in ("wgan_gp", "hinge"):
        return -fake.mean()
    raise ValueError(f"unknown GAN objective {objective!r}; choose from {', '.join(OBJECTIVES)}")


def gradient_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor,
                     fake: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """WGAN-GP penalty E[(||∇D(x̂)||₂ − 1)²] on random interpolates x̂ of real and fake."""
    eps_shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    eps = torch.rand(eps_shape, generator=generator, device=real.device, dtype=real.dtype)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    scores = sum(s.sum() for s in _per_discriminator(critic(x_hat)))
    (grad,) = torch.autograd.grad(scores, x_hat, create_graph=True)
    return (grad.flatten(1).norm(dim=1) - 1.0).pow(2).mean()


def feature_matching_loss(real_features, fake_features) -> torch.Tensor:
    """Σ over layers (of every sub-discriminator) of the mean |D_l(x) − D_l(G(z))|.

    Features are tensors or (nested) lists of them, in the same structure for
    real and generated examples; the real ones are targets (detached).
    """
    if isinstance(real_features, torch.Tensor):
        return (real_features.detach() - fake_features).abs().mean()
    return sum(feature_matching_loss(r, f) for r, f in zip(real_features, fake_features, strict=True))


@contextmanager
def frozen(module: nn.Module):
    """Inside, ``module``'s parameters get no gradients (the generator update skips D's weight gradients)."""
    params = [p for p in module.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


def _mean_logit(logits: Logits) -> float:
    parts = _per_discriminator(logits)
    return sum(p.float().mean().item() for p in parts) / len(parts)


@dataclass
class GANStepConfig:
    objective: str = "least_squares"
    d_steps: int = 1                 # discriminator updates per generator update
    real_label: float = 1.0          # < 1: one-sided label smoothing
    gp_weight: float = 10.0          # λ of WGAN-GP
    instance_noise: float = 0.0      # initial std of instance noise on D inputs
    instance_noise_steps: int = 0    # linear annealing to 0 over this many steps
    adversarial_weight: float = 1.0  # weight of G's adversarial loss beside generator_terms (0 and no
                                     # feature matching: the discriminator is not trained at all)
    feature_matching_weight: float = 0.0  # > 0: add weight · feature_matching_loss to G (needs discriminate_features)
    # True: the batch holds d_steps minibatches and each discriminator update takes its own, as in
    # Gulrajani et al. 2017, Algorithm 1 (a fresh real sample per critic iteration); the generator
    # update uses the last one. False: every update sees the whole batch.
    fresh_real: bool = False


class GANTask:
    """One adversarial training step for any GAN, as the trainer's task.

    A model specialises it by overriding four hooks:

    - ``split(batch) -> (real, condition)``
    - ``generate(condition) -> fake`` (draws its own latent noise)
    - ``discriminate(x, condition) -> logits`` (a tensor, or a list of them for
      several sub-discriminators)
    - ``generator_terms(fake, real, condition) -> {name: loss}``: extra generator
      losses such as SEGAN's 100·L1, added to the adversarial loss.

    and, for feature matching (``feature_matching_weight > 0``), a fifth:
    ``discriminate_features(x, condition) -> (logits, features)``. The generator
    update then scores the real batch without gradients and adds
    ``weight · feature_matching_loss`` as the ``fm`` term.

    Each step runs ``d_steps`` discriminator updates, each on a fresh draw of
    the generator, then one generator update on the last draw (whose forward
    pass is shared by the last discriminator update and the generator update).
    """

    # Score real and generated examples in one discriminator call. Only for
    # discriminators whose output for an example does not depend on its
    # batch-mates (e.g. virtual batch norm): ordinary batch norm must see real
    # and fake batches apart, and minibatch discrimination would mix them.
    score_real_and_fake_together = False

    def __init__(self, model: nn.Module, generator: nn.Module, discriminator: nn.Module,
                 opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer,
                 step_config: GANStepConfig | None = None):
        self.model, self.generator, self.discriminator = model, generator, discriminator
        self.optimizers = {"generator": opt_g, "discriminator": opt_d}
        self.cfg = step_config or GANStepConfig()
        if self.cfg.objective not in OBJECTIVES:
            raise ValueError(f"unknown GAN objective {self.cfg.objective!r}; choose from {', '.join(OBJECTIVES)}")

    # --- hooks ---------------------------------------------------------------------------
    def split(self, batch):
        raise NotImplementedError

    def generate(self, condition):
        raise NotImplementedError

    def discriminate(self, x, condition):
        raise NotImplementedError

    def generator_terms(self, fake, real, condition) -> dict[str, torch.Tensor]:
        return {}

    def discriminate_features(self, x, condition):
        raise NotImplementedError("feature matching needs discriminate_features(x, condition) -> (logits, features)")

    # --- the step ------------------------------------------------------------------------
    def train_step(self, batch, step: int) -> dict[str, float]:
        cfg = self.cfg
        opt_g, opt_d = self.optimizers["generator"], self.optimizers["discriminator"]
        real, condition = self.split(batch)
        if cfg.fresh_real and real.shape[0] % cfg.d_steps:
            raise ValueError(f"a batch of {real.shape[0]} does not split into {cfg.d_steps} minibatches "
                             f"(one per discriminator update)")
        draws = (list(zip(real.chunk(cfg.d_steps), _chunks(condition, cfg.d_steps))) if cfg.fresh_real
                 else [(real, condition)] * cfg.d_steps)
        noise_std = annealed_noise_std(step, cfg.instance_noise, cfg.instance_noise_steps)

        def critic(x, condition):
            return self.discriminate(instance_noise(x, noise_std), condition)

        # With neither an adversarial nor a feature-matching term, nothing the discriminator learns
        # reaches the generator: it is left untrained, and the generator's update is the same.
        adversarial = bool(cfg.adversarial_weight or cfg.feature_matching_weight)
        for i, (real, condition) in enumerate(draws):
            # The last draw keeps its graph so the generator update below reuses it.
            with torch.set_grad_enabled(i == cfg.d_steps - 1):
                fake = self.generate(condition)
            if not adversarial:
                continue
            if self.score_real_and_fake_together:
                d_real, d_fake = _split_scores(critic(torch.cat([real, fake.detach()]), condition), real.shape[0])
            else:
                d_real, d_fake = critic(real, condition), critic(fake.detach(), condition)
            d_loss = discriminator_loss(cfg.objective, d_real, d_fake, cfg.real_label)
            if cfg.objective == "wgan_gp":
                d_loss = d_loss + cfg.gp_weight * gradient_penalty(lambda x: critic(x, condition), real,
                                                                       fake.detach())
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            average_gradients(self.discriminator)
            opt_d.step()

        with frozen(self.discriminator):
            if cfg.feature_matching_weight:
                with torch.no_grad():
                    _, real_features = self.discriminate_features(instance_noise(real, noise_std), condition)
                fake_logits, fake_features = self.discriminate_features(instance_noise(fake, noise_std), condition)
            elif adversarial:
                fake_logits = critic(fake, condition)
            g_adv = generator_loss(cfg.objective, fake_logits) if adversarial else None
            terms = self.generator_terms(fake, real, condition)
            if cfg.feature_matching_weight:
                terms["fm"] = cfg.feature_matching_weight * feature_matching_loss(real_features, fake_features)
            g_loss = (cfg.adversarial_weight * g_adv if adversarial else 0) + sum(terms.values())
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
        average_gradients(self.generator)
        opt_g.step()

        logs = ({"d_loss": d_loss.item(), "g_adv": g_adv.item(), "g_loss": g_loss.item(),
                 "d_real": _mean_logit(d_real), "d_fake": _mean_logit(d_fake)} if adversarial
                else {"g_loss": g_loss.item()})
        logs.update({name: value.item() for name, value in terms.items()})
        return logs


def _split_scores(scores: Logits, count: int):
    """(real, fake) logits of one call on ``cat([real, fake])``: the first ``count`` rows are real."""
    if isinstance(scores, (list, tuple)):
        halves = [s.split(count) for s in scores]
        return [h[0] for h in halves], [h[1] for h in halves]
    return scores.split(count)


def _chunks(condition, count: int) -> list:
    """``condition`` split along the batch like the real examples (None stays None for every chunk)."""
    if condition is None:
        return [None] * count
    if isinstance(condition, torch.Tensor):
        return list(condition.chunk(count))
    return [type(condition)(parts) for parts in zip(*(_chunks(c, count) for c in condition))]
