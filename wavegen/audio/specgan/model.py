"""SpecGAN: a DCGAN on normalised log-magnitude spectrograms, inverted by Griffin-Lim.

Donahue, McAuley and Puckette, "Adversarial Audio Synthesis", ICLR 2019, §3.2
and appendix (table 4 and 5). A one-second clip (16384 samples at 16 kHz) is
analysed with a 256-sample (16 ms) Hann window every 128 samples; the highest
of the 129 frequency bins is dropped, leaving a 128 × 128 image of log
magnitudes. Each frequency bin is normalised by its mean and standard
deviation over the training set (stored in the checkpoint), clipped at 3
standard deviations and divided by 3, so the image lies in [-1, 1] like the
generator's tanh output.

Generator: z (100) → dense → (16d, 4, 4) → five 5 × 5 transposed
convolutions of stride 2 (16d → 8d → 4d → 2d → d → 1), ReLU between, tanh at
the end. Discriminator: the mirror image, 5 × 5 convolutions of stride 2
(1 → d → … → 16d) with LeakyReLU(0.2), then dense to one score. No batch
normalisation (the paper trains with WGAN-GP). d = 64 in the paper.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from wavegen.audio.features import griffin_lim
from wavegen.audio.clip_gan import AudioGAN
from wavegen.core.registry import register_model

LOG_FLOOR = 1e-6            # added to magnitudes before the log

# Overrides of the paper configuration (the constructor defaults).
SPECGAN_CONFIGS: dict[str, dict] = {
    "paper": {},
    "small": {"model_size": 8},           # CPU demo
    "tiny": {"model_size": 2},            # unit tests
}


class SpecGenerator(nn.Module):
    """z (B, latent) -> (B, 1, 128, 128) in [-1, 1]."""

    def __init__(self, latent_dim: int, d: int, kernel_size: int):
        super().__init__()
        self.d = d
        self.dense = nn.Linear(latent_dim, 4 * 4 * 16 * d)
        widths = [16 * d, 8 * d, 4 * d, 2 * d, d, 1]
        self.layers = nn.ModuleList(
            nn.ConvTranspose2d(c_in, c_out, kernel_size, stride=2, padding=kernel_size // 2, output_padding=1)
            for c_in, c_out in zip(widths, widths[1:]))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.dense(z).view(-1, 16 * self.d, 4, 4)              # (B, 16d, 4, 4)
        for layer in self.layers:
            x = layer(F.relu(x))                                    # doubles height and width
        return torch.tanh(x)                                        # (B, 1, 128, 128)


class SpecDiscriminator(nn.Module):
    """(B, 1, 128, 128) -> (B, 1) scores."""

    def __init__(self, d: int, kernel_size: int):
        super().__init__()
        widths = [1, d, 2 * d, 4 * d, 8 * d, 16 * d]
        self.layers = nn.ModuleList(nn.Conv2d(c_in, c_out, kernel_size, stride=2, padding=kernel_size // 2)
                                    for c_in, c_out in zip(widths, widths[1:]))
        self.score = nn.Linear(16 * d * 4 * 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = F.leaky_relu(layer(x), 0.2)                         # halves height and width
        return self.score(x.flatten(1))                             # (B, 16d·4·4) -> (B, 1)


@register_model("specgan")
class SpecGAN(AudioGAN):
    """SpecGAN with its spectrogram normalisation (set from training data by :meth:`set_statistics`)."""

    def __init__(self, latent_dim: int = 100, model_size: int = 64, kernel_size: int = 5,
                 sample_rate: int = 16000, clip_samples: int = 16384, n_fft: int = 256, hop: int = 128,
                 clip_std: float = 3.0, griffin_lim_iterations: int = 16):
        super().__init__(latent_dim, sample_rate, clip_samples)
        self.bins, self.frames = n_fft // 2, -(-clip_samples // hop)
        if (self.bins, self.frames) != (128, 128):
            raise ValueError(f"SpecGAN makes 128 x 128 spectrograms: n_fft={n_fft}, hop={hop} and "
                             f"clip_samples={clip_samples} give {self.bins} bins x {self.frames} frames")
        for name, value in (("model_size", model_size), ("griffin_lim_iterations", griffin_lim_iterations)):
            if value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        self.config = dict(latent_dim=latent_dim, model_size=model_size, kernel_size=kernel_size,
                           sample_rate=sample_rate, clip_samples=clip_samples, n_fft=n_fft, hop=hop,
                           clip_std=clip_std, griffin_lim_iterations=griffin_lim_iterations)
        self.n_fft, self.hop, self.clip_std = n_fft, hop, clip_std
        self.griffin_lim_iterations = griffin_lim_iterations
        self.generator = SpecGenerator(latent_dim, model_size, kernel_size)
        self.discriminator = SpecDiscriminator(model_size, kernel_size)
        self.reset_parameters()
        # Per-frequency moments of the training set's log magnitudes.
        self.register_buffer("log_mean", torch.zeros(self.bins))
        self.register_buffer("log_std", torch.ones(self.bins))

    def log_magnitude(self, audio: torch.Tensor) -> torch.Tensor:
        """(B, T) audio -> (B, 128, 128) log magnitudes (frequency, frame), top bin dropped."""
        window = torch.hann_window(self.n_fft, device=audio.device)
        with torch.autocast(audio.device.type, enabled=False):
            spec = torch.stft(audio.float(), self.n_fft, self.hop, window=window, return_complex=True)
        return torch.log(spec.abs()[:, :self.bins, :self.frames] + LOG_FLOOR)

    @torch.no_grad()
    def set_statistics(self, log_magnitudes: torch.Tensor) -> None:
        """Per-frequency mean and std from (N, 128, 128) training log magnitudes."""
        flat = log_magnitudes.transpose(0, 1).reshape(self.bins, -1).double()
        self.log_mean.copy_(flat.mean(dim=1))
        self.log_std.copy_(flat.std(dim=1).clamp_min(1e-3))

    def normalise(self, log_magnitude: torch.Tensor) -> torch.Tensor:
        """(B, 128, 128) -> (B, 1, 128, 128) in [-1, 1]: standardised per bin, clipped at ±clip_std."""
        z = (log_magnitude - self.log_mean[:, None]) / self.log_std[:, None]
        return (z.clamp(-self.clip_std, self.clip_std) / self.clip_std).unsqueeze(1)

    def denormalise(self, image: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`normalise`: (B, 1, 128, 128) -> (B, 128, 128) log magnitudes."""
        return image.squeeze(1).float() * self.clip_std * self.log_std[:, None] + self.log_mean[:, None]

    def features(self, audio: torch.Tensor) -> torch.Tensor:
        return self.normalise(self.log_magnitude(audio))

    def to_audio(self, generated: torch.Tensor, iterations: int | None = None) -> torch.Tensor:
        """Normalised spectrograms -> audio by Griffin-Lim (``iterations``: the config's by default), peak ≤ 0.99."""
        magnitude = (self.denormalise(generated).exp() - LOG_FLOOR).clamp_min(0)      # (B, 128, 128)
        # Put back the dropped top bin and the frame centred on the last sample, as silence.
        magnitude = F.pad(magnitude, (0, self.clip_samples // self.hop + 1 - self.frames, 0, 1))
        audio = griffin_lim(magnitude, self.n_fft, self.hop, iterations or self.griffin_lim_iterations,
                            length=self.clip_samples)
        # A magnitude fixes no phase, and the phase Griffin-Lim settles on can stack partials into
        # peaks beyond full scale: scale such a clip down to a 0.99 peak rather than clip it.
        peak = audio.abs().amax(dim=-1, keepdim=True)
        return audio * (0.99 / peak).clamp(max=1.0)
