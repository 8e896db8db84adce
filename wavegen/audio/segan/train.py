"""SEGAN as a GAN-family task: what is special about training it.

Pascual et al. 2017, §3–4: least-squares GAN objective (their eq. 4–5) on
(candidate, noisy) pairs, plus λ·‖G(z, x̃) − x‖₁ with λ = 100 on the generator,
RMSprop with learning rate 2e-4, and pre-emphasis 0.95 on every waveform. The
discriminator normalises with virtual batch norm against a reference batch of
(clean, noisy) pairs drawn once before training.

Options beyond the paper, all off by default (the paper's recipe): a
multi-resolution STFT loss beside the L1 (``stft_weight``), a log mel-band
energy loss (``mel_weight``; both in ``wavegen.audio.losses``) and on-the-fly
re-mixing of the training noise (``remix``, ``remix_gain_db``, see
``wavegen.audio.augment``).

Evaluation scores held-out windows (L1, SNR) and, given ``utterance_validation``
(a :class:`wavegen.audio.validation.UtteranceValidation`), whole utterances
enhanced exactly as ``wavegen enhance`` does, with the metrics users report
(``val_pesq``, ``val_stoi``, ``val_csig``, ...), choosing the attenuation limit
(:attr:`SEGAN.attenuation_limit_db`) on them: what a recipe selects its published
checkpoint by.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from wavegen.audio.augment import remix_noise
from wavegen.audio.features import preemphasis
from wavegen.audio.losses import log_mel_energy_loss, multi_resolution_stft_loss
from wavegen.core.gan import GANStepConfig, GANTask


def draw_reference_batch(dataset, size: int, seed: int) -> torch.Tensor:
    """A fixed (size, 2, T) batch of pre-emphasised (clean, noisy) windows for virtual batch norm.

    Drawn from its own seeded generator, so a resumed run draws the same batch.
    """
    g = torch.Generator().manual_seed(seed + 0xBA7C4)
    picks = torch.randperm(len(dataset), generator=g)[:size].tolist()
    pairs = [torch.stack(dataset[i]) for i in picks]                # each (2, T): clean, noisy
    return torch.stack(pairs)


class SEGANTask(GANTask):
    """Training step for :class:`~wavegen.audio.segan.model.SEGAN` on (clean, noisy) windows."""

    # Virtual batch norm makes each logit independent of its batch-mates, so one
    # discriminator call (and one reference pass) scores real and fake together.
    score_real_and_fake_together = True

    def __init__(self, model, reference: torch.Tensor, *, lr: float = 2e-4, l1_weight: float = 100.0,
                 stft_weight: float = 0.0, mel_weight: float = 0.0, remix: float = 0.0,
                 remix_gain_db: tuple[float, float] = (0.0, 0.0),
                 validation: tuple[torch.Tensor, torch.Tensor] | None = None,
                 utterance_validation: Callable[[nn.Module, torch.device], dict[str, float]] | None = None,
                 step_config: GANStepConfig | None = None):
        opt_g = torch.optim.RMSprop(model.generator.parameters(), lr=lr)
        opt_d = torch.optim.RMSprop(model.discriminator.parameters(), lr=lr)
        super().__init__(model, model.generator, model.discriminator, opt_g, opt_d,
                         step_config or GANStepConfig(objective="least_squares"))
        self.l1_weight, self.stft_weight, self.mel_weight = l1_weight, stft_weight, mel_weight
        self.remix, self.remix_gain_db = remix, tuple(remix_gain_db)
        self.reference = preemphasis(reference, model.preemph)
        self.validation = validation
        self.utterance_validation = utterance_validation

    def _prepare(self, waves: torch.Tensor) -> torch.Tensor:
        return preemphasis(waves, self.model.preemph).unsqueeze(1)     # (B, T) -> (B, 1, T)

    def split(self, batch):
        clean, noisy = batch
        noisy = remix_noise(clean, noisy, self.remix, self.remix_gain_db)
        return self._prepare(clean), self._prepare(noisy)

    def generate(self, noisy):
        return self.generator(noisy)

    def discriminate(self, candidate, noisy):
        if self.reference.device != candidate.device:
            self.reference = self.reference.to(candidate.device)
        if candidate.shape[0] != noisy.shape[0]:        # real and fake scored together
            noisy = noisy.repeat(candidate.shape[0] // noisy.shape[0], 1, 1)
        return self.discriminator(candidate, noisy, self.reference)

    def generator_terms(self, fake, real, condition):
        terms = {"l1": self.l1_weight * (fake - real).abs().mean()}
        if self.stft_weight:
            terms["stft"] = self.stft_weight * multi_resolution_stft_loss(fake.squeeze(1), real.squeeze(1))
        if self.mel_weight:
            terms["mel"] = self.mel_weight * log_mel_energy_loss(fake.squeeze(1), real.squeeze(1),
                                                                 self.model.sample_rate)
        return terms

    def evaluate(self) -> dict[str, float]:
        """L1 and SNR of the generator's output on held-out windows (pre-emphasised domain)."""
        if self.validation is None:
            return {}
        device = next(self.generator.parameters()).device
        clean, noisy = (self._prepare(w).to(device) for w in self.validation)
        g = torch.Generator(device=device).manual_seed(0)
        enhanced = self.generator(noisy, generator=g)
        return {"val_l1": (enhanced - clean).abs().mean().item(),
                "val_snr_db": _snr_db(clean, enhanced), "val_input_snr_db": _snr_db(clean, noisy),
                **(self.utterance_validation(self.model, device) if self.utterance_validation else {})}


def _snr_db(clean: torch.Tensor, estimate: torch.Tensor) -> float:
    noise = (estimate - clean).pow(2).sum()
    return (10 * torch.log10(clean.pow(2).sum() / noise.clamp_min(1e-12))).item()
