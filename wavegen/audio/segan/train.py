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

Evaluation scores held-out windows (L1, SNR) and, given ``validation_utterances``,
whole utterances enhanced exactly as ``wavegen enhance`` does, with the metrics
users report (``val_pesq``, ``val_stoi``, ``val_csig``, ...): what a recipe can
select its published checkpoint by. Given ``attenuation_limits_db`` too, each
evaluation also tries those attenuation limits (:attr:`SEGAN.attenuation_limit_db`)
and keeps the one where ``val_min_gain`` is best; the model leaves the evaluation
holding it, so the weights a recipe publishes carry their limit.
"""

from __future__ import annotations

import numpy as np
import torch

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
                 validation_utterances: list[tuple[np.ndarray, np.ndarray]] | None = None,
                 attenuation_limits_db: tuple[float, ...] = (), step_config: GANStepConfig | None = None):
        opt_g = torch.optim.RMSprop(model.generator.parameters(), lr=lr)
        opt_d = torch.optim.RMSprop(model.discriminator.parameters(), lr=lr)
        super().__init__(model, model.generator, model.discriminator, opt_g, opt_d,
                         step_config or GANStepConfig(objective="least_squares"))
        self.l1_weight, self.stft_weight, self.mel_weight = l1_weight, stft_weight, mel_weight
        self.remix, self.remix_gain_db = remix, tuple(remix_gain_db)
        self.reference = preemphasis(reference, model.preemph)
        self.validation = validation
        self.validation_utterances = validation_utterances or []
        if attenuation_limits_db and not self.validation_utterances:
            raise ValueError("attenuation_limits_db are chosen on validation_utterances: give some")
        self.attenuation_limits_db = tuple(float(limit) for limit in attenuation_limits_db)
        self._noisy_scores: dict[str, float] | None = None

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
                **self._utterance_metrics(device)}

    def _utterance_metrics(self, device) -> dict[str, float]:
        """Mean ``val_<metric>`` over the validation utterances, and ``val_min_gain`` over the noisy input.

        With ``attenuation_limits_db``, the scores are those of the limit (or none) with the best
        ``val_min_gain``, which the model is left holding; ``val_noisy_mix`` is its share of the input.
        """
        if not self.validation_utterances:
            return {}
        best = None
        limits = (None, *self.attenuation_limits_db) if self.attenuation_limits_db else (self.model.attenuation_limit_db,)
        for limit in limits:
            self.model.attenuation_limit_db = limit
            means = self._scores_as_enhanced(device)
            if best is None or means["min_gain"] > best[1]["min_gain"]:
                best = limit, means
        self.model.attenuation_limit_db = best[0]
        return {f"val_{name}": value for name, value in best[1].items()} | (
            {"val_noisy_mix": float(self.model.noisy_mix)} if self.attenuation_limits_db else {})

    def _scores_as_enhanced(self, device) -> dict[str, float]:
        from wavegen.audio.enhance import enhance_waveform
        from wavegen.audio.metrics import mean_scores, min_gain
        rate = self.model.sample_rate
        enhanced = [np.clip(enhance_waveform(self.model, noisy, rate, device=device).numpy(), -1.0, 1.0)
                    for _, noisy in self.validation_utterances]
        means = mean_scores([(clean, out) for (clean, _), out in zip(self.validation_utterances, enhanced)], rate)
        means["min_gain"] = min_gain(means, self.noisy_validation_scores())
        return means

    def noisy_validation_scores(self) -> dict[str, float]:
        """The noisy input's mean scores on the validation utterances (computed once): what enhancing must beat."""
        from wavegen.audio.metrics import mean_scores
        if self._noisy_scores is None:
            self._noisy_scores = mean_scores(self.validation_utterances, self.model.sample_rate)
        return self._noisy_scores


def _snr_db(clean: torch.Tensor, estimate: torch.Tensor) -> float:
    noise = (estimate - clean).pow(2).sum()
    return (10 * torch.log10(clean.pow(2).sum() / noise.clamp_min(1e-12))).item()
