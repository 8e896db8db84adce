"""Training the GAN vocoder: what is special about HiFi-GAN's objective (Kong et al. 2020, §2.4).

    L_D = Σ_k E[(D_k(x) − 1)² + D_k(G(s))²]                                 eq. 5 (LSGAN, Mao et al. 2017)
    L_G = Σ_k [E[(D_k(G(s)) − 1)²] + λ_fm L_FM(G; D_k)] + λ_mel L_mel(G)     eq. 6, λ_fm = 2, λ_mel = 45
    L_FM = E[Σ_i 1/N_i ‖D_k^i(x) − D_k^i(G(s))‖₁]                            eq. 4, over every layer i
    L_mel = E[‖φ(x) − φ(G(s))‖₁], φ the log-mel spectrogram                 eq. 3

over the five period and three scale sub-discriminators k. The core's
least-squares objective carries Mao et al.'s ½, so the adversarial term is
weighted by 2 to give eq. 6 exactly (L_D's ½ does not change AdamW's steps).
The mel loss spans the whole band (``loss_fmax=None``), as the paper's
released configuration does, even where the input features stop at 8 kHz.
AdamW with lr 2e-4, β = (0.8, 0.99), weight decay 0.01, and an exponential
decay of 0.999 per epoch (here per ``lr_decay_steps`` steps, a function of the
step alone, so a resumed run follows the same schedule).

Batches are waveform crops (B, T) with T a multiple of the hop (random segments:
the trainer shuffles overlapping crops); their mel frames are computed here,
from the crop itself, as the paper's data loader does.
"""

from __future__ import annotations

import torch

from wavegen.audio.features import MelSpec, log_mel
from wavegen.audio.hifigan.model import HiFiGAN
from wavegen.core.gan import GANStepConfig, GANTask


class VocoderTask(GANTask):
    """Training step for :class:`~wavegen.audio.hifigan.model.HiFiGAN` on (audio crops, speaker) batches."""

    # Weight and spectral normalisation keep each example's logits independent of its
    # batch-mates, so one discriminator call scores real and generated crops together.
    score_real_and_fake_together = True

    def __init__(self, model: HiFiGAN, *, lr: float = 2e-4, betas: tuple[float, float] = (0.8, 0.99),
                 weight_decay: float = 0.01, lr_decay: float = 0.999, lr_decay_steps: int = 1000,
                 fm_weight: float = 2.0, mel_weight: float = 45.0, loss_fmax: float | None = None,
                 validation: torch.Tensor | None = None, eval_batch: int = 8):
        if lr_decay_steps < 1 or not 0 < lr_decay <= 1:
            raise ValueError(f"need lr_decay in (0, 1] and lr_decay_steps >= 1, got {lr_decay}, {lr_decay_steps}")
        opt_g, opt_d = (torch.optim.AdamW(part.parameters(), lr=lr, betas=tuple(betas), weight_decay=weight_decay)
                        for part in (model.generator, model.discriminator))
        super().__init__(model, model.generator, model.discriminator, opt_g, opt_d,
                         GANStepConfig(objective="least_squares", adversarial_weight=2.0,
                                       feature_matching_weight=fm_weight))
        self.lr, self.lr_decay, self.lr_decay_steps = lr, lr_decay, lr_decay_steps
        self.mel_weight = mel_weight
        spec = model.mel
        self.loss_spec = MelSpec(spec.sample_rate, spec.n_fft, spec.hop, spec.n_mels, spec.fmin, loss_fmax)
        self.validation, self.eval_batch = validation, eval_batch

    def learning_rate(self, step: int) -> float:
        return self.lr * self.lr_decay ** (step // self.lr_decay_steps)

    def train_step(self, batch, step: int) -> dict[str, float]:
        for opt in self.optimizers.values():
            for group in opt.param_groups:
                group["lr"] = self.learning_rate(step)
        return super().train_step(batch, step)

    # --- the GANTask hooks ---------------------------------------------------------------------
    def split(self, batch):
        audio, _speaker = batch                                            # (B, T), T a multiple of the hop
        with torch.no_grad():
            mel = _float32(self.model.mel_frames, audio)                  # (B, n_mels, T / hop)
        return audio.unsqueeze(1), mel                                     # real (B, 1, T), condition

    def generate(self, mel):
        return self.generator(mel)                                         # (B, 1, T)

    def discriminate(self, x, mel):
        return self.discriminator(x)[0]

    def discriminate_features(self, x, mel):
        return self.discriminator(x)

    def generator_terms(self, fake, real, mel):
        with torch.no_grad():
            target = _float32(log_mel, real.squeeze(1), self.loss_spec)
        estimate = _float32(log_mel, fake.squeeze(1), self.loss_spec)
        return {"mel": self.mel_weight * (estimate - target).abs().mean()}

    # --- validation ----------------------------------------------------------------------------
    def evaluate(self) -> dict[str, float]:
        """Mean |log-mel(G(mel)) − mel| on held-out crops, in the model's own features (nats)."""
        if self.validation is None:
            return {}
        return {"val_mel_l1": validation_mel_l1(self.model, self.validation, self.eval_batch)}


@torch.no_grad()
def validation_mel_l1(model: HiFiGAN, audio: torch.Tensor, batch_size: int = 8) -> float:
    """Mean absolute log-mel difference between crops (N, T) and their vocoded copies."""
    device = model.generator.conv_pre.bias.device
    total, count = 0.0, 0
    for chunk in audio.split(batch_size):
        chunk = chunk.to(device)
        mel = model.mel_frames(chunk)
        vocoded = model.generator(mel).squeeze(1)[..., :chunk.shape[-1]]
        total += (model.mel_frames(vocoded) - mel).abs().sum().item()
        count += mel.numel()
    return total / count


def _float32(fn, audio, *args):
    """``fn(audio, *args)`` with autocast off: spectra in bf16 lose the quiet bins the log brings out."""
    with torch.autocast(audio.device.type, enabled=False):
        return fn(audio.float(), *args)
