"""Training SpecGAN and WaveGAN: WGAN-GP through the core's GAN step.

Donahue et al. 2019, §5 and appendix: WGAN-GP (Gulrajani et al. 2017) with
λ = 10, five critic updates per generator update, each on a fresh real
minibatch, Adam with learning rate 1e-4 and β = (0.5, 0.9) for both networks,
batch size 64. The only thing special about these models is what the
discriminator sees (:meth:`AudioGAN.features`: the waveform, or the normalised
spectrogram) and that the latent comes from U(−1, 1).
"""

from __future__ import annotations

import torch

from wavegen.audio.specgan.base import AudioGAN
from wavegen.core.gan import GANStepConfig, GANTask


class AudioGANTask(GANTask):
    """One WGAN-GP step on a batch of ``d_steps`` × B ``(clip, label)`` pairs (labels unused)."""

    def __init__(self, model: AudioGAN, *, lr: float = 1e-4, betas: tuple[float, float] = (0.5, 0.9),
                 d_steps: int = 5, gp_weight: float = 10.0, validation: torch.Tensor | None = None):
        opt_g = torch.optim.Adam(model.generator.parameters(), lr=lr, betas=tuple(betas))
        opt_d = torch.optim.Adam(model.discriminator.parameters(), lr=lr, betas=tuple(betas))
        super().__init__(model, model.generator, model.discriminator, opt_g, opt_d,
                         GANStepConfig(objective="wgan_gp", d_steps=d_steps, gp_weight=gp_weight, fresh_real=True))
        self.validation = validation

    def split(self, batch):
        audio, labels = batch
        return self.model.features(audio), labels

    def generate(self, labels):
        return self.generator(self.model.sample_latent(labels.shape[0]))

    def discriminate(self, x, labels):
        return self.discriminator(x)

    def evaluate(self) -> dict[str, float]:
        """The critic's estimate of the Wasserstein distance, E[D(real)] − E[D(G(z))], on held-out clips.

        It should fall as the generator improves (Gulrajani et al. 2017, §5.3).
        """
        if self.validation is None:
            return {}
        device = next(self.model.parameters()).device
        real = self.model.features(self.validation.to(device))
        g = torch.Generator().manual_seed(0)
        fake = self.generator(self.model.sample_latent(real.shape[0], g))
        gap = self.discriminator(real).mean() - self.discriminator(fake).mean()
        return {"val_wasserstein": gap.item()}
