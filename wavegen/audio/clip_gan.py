"""What SpecGAN and WaveGAN share: a generator from a uniform latent to one-second clips, and its training.

Donahue, McAuley and Puckette, "Adversarial Audio Synthesis", ICLR 2019, §3-4:
both draw z of 100 dimensions from U(−1, 1) and produce 16384 samples at
16 kHz (a little over one second); each model says how its generator's output
becomes audio (:meth:`to_audio`) and how audio becomes what its discriminator
sees (:meth:`features`).

Training (§5 and appendix): WGAN-GP (Gulrajani et al. 2017) with λ = 10, five
critic updates per generator update, each on a fresh real minibatch, Adam with
learning rate 1e-4 and β = (0.5, 0.9) for both networks, batch size 64, through
the core's GAN step; the only thing special is what the discriminator sees and
that the latent comes from U(−1, 1).
"""

from __future__ import annotations

import torch
from torch import nn

from wavegen.audio.capabilities import ClipGenerator
from wavegen.core.gan import GANStepConfig, GANTask


class AudioGAN(ClipGenerator, nn.Module):
    """Base of the unconditional audio GANs: latent draws, generation, audio out."""

    family = "gan"

    def __init__(self, latent_dim: int, sample_rate: int, clip_samples: int):
        super().__init__()
        self.latent_dim, self.sample_rate, self.clip_samples = latent_dim, sample_rate, clip_samples
        self.generator: nn.Module
        self.discriminator: nn.Module

    def sample_latent(self, count: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """(count, latent_dim) draws from U(−1, 1) on the model's device."""
        device = next(self.parameters()).device
        z = torch.rand(count, self.latent_dim, generator=generator, device=generator.device if generator else device)
        return (2 * z - 1).to(device)

    def features(self, audio: torch.Tensor) -> torch.Tensor:
        """(B, clip_samples) audio -> what the discriminator sees (and the generator makes)."""
        raise NotImplementedError

    def to_audio(self, generated: torch.Tensor) -> torch.Tensor:
        """The generator's output -> (B, clip_samples) audio in [-1, 1]."""
        raise NotImplementedError

    @torch.no_grad()
    def generate_audio(self, count: int, seed: int = 0, batch_size: int = 64) -> torch.Tensor:
        """``count`` clips (count, clip_samples) on the CPU; the same seed gives the same clips."""
        z = self.sample_latent(count, torch.Generator().manual_seed(seed))      # all draws first
        return torch.cat([self.to_audio(self.generator(part)).float().cpu() for part in z.split(batch_size)])

    def reset_parameters(self) -> None:
        """Glorot-uniform weights and zero biases, the initialisers of the authors' TensorFlow layers.

        PyTorch's defaults (uniform in ±1/√fan_in, biases included) shrink the
        signal at every layer, so in narrow networks the biases soon dominate and
        whole ReLU layers start dead, leaving the generator without gradient.
        """
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.ConvTranspose1d, nn.ConvTranspose2d)):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)

    def describe(self) -> str:
        g = sum(p.numel() for p in self.generator.parameters())
        d = sum(p.numel() for p in self.discriminator.parameters())
        return f"{self.registry_name}: generator {g / 1e6:.2f} M, discriminator {d / 1e6:.2f} M parameters"


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
