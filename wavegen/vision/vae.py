"""The image VAE (Kingma and Welling 2014) on the core's ELBO, and the pixel likelihoods every image VAE uses.

:class:`VAE`: an MLP or convolutional encoder giving q(z|x) = N(μ, diag σ²) and a
decoder giving p(x|z) per pixel, Bernoulli (binarised or grey-level images),
Gaussian, or a discretised logistic mixture over 256 levels (Salimans et al.
2017) for colour images. Its class-conditional form is :class:`~wavegen.vision.cvae.CVAE`
(the same networks with the one-hot label joined on), which M2
(:class:`~wavegen.vision.ssvae.SSVAE`) builds on.
"""

from __future__ import annotations

import torch
from torch import nn

from wavegen.core.registry import register_model
from wavegen.core.vae import LIKELIHOODS, log_likelihood
from wavegen.vision.capabilities import ImageEncoder, ImageGenerator
from wavegen.vision.networks import DecoderBody, EncoderBody, model_classes, one_hot


class PixelLikelihood:
    """How decoder outputs become log p(x|z) and the image shown for them (its mean), x in [0, 1]."""

    def __init__(self, kind: str, components: int = 5, fixed_logvar: float | None = None):
        if kind not in LIKELIHOODS:
            raise ValueError(f"unknown likelihood {kind!r}; choose from {', '.join(LIKELIHOODS)}")
        if components < 1:
            raise ValueError(f"components must be at least 1, got {components}")
        self.kind, self.components, self.fixed_logvar = kind, components, fixed_logvar
        self.params_per_channel = {"bernoulli": 1, "gaussian": 1 if fixed_logvar is not None else 2,
                                   "discretized_logistic": 3 * components}[kind]

    def _params(self, out: torch.Tensor):
        b, _, h, w = out.shape
        if self.kind == "bernoulli":
            return out
        if self.kind == "gaussian":
            if self.fixed_logvar is not None:
                return out, self.fixed_logvar
            mean, logvar = out.chunk(2, dim=1)
            return mean, logvar.clamp(-9.0, 4.0)
        return out.view(b, 3 * self.components, -1, h, w)                 # (B, 3K, C, H, W)

    def log_prob(self, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """(B,) nats: log p(x | decoder output ``out``) for images x in [0, 1]."""
        target = x * 2 - 1 if self.kind == "discretized_logistic" else x
        return log_likelihood(self.kind, self._params(out), target)

    def mean(self, out: torch.Tensor) -> torch.Tensor:
        """The expected image under p(x|z), (B, C, H, W) in [0, 1]."""
        if self.kind == "bernoulli":
            return torch.sigmoid(out.float())
        if self.kind == "gaussian":
            return self._params(out)[0].float().clamp(0, 1)
        params = self._params(out).float()
        logits, means, _ = params.split(self.components, dim=1)
        mean = (logits.softmax(dim=1) * means.clamp(-1, 1)).sum(dim=1)
        return (mean + 1) / 2


@register_model("vae", aliases=("image_vae",), alias_if=lambda config: not config.get("classes"))
class VAE(ImageGenerator, ImageEncoder, nn.Module):
    """q(z|x) and p(x|z) for images (B, C, H, W) in [0, 1]; the methods take the label y of the conditional form."""

    family = "vae"
    conditional = False            # the CVAE's: classes, at least two

    def __init__(self, image_shape: list[int] = (1, 28, 28), latent: int = 16, architecture: str = "mlp",
                 hidden: list[int] = (512, 256), channels: list[int] = (32, 64), classes: list[str] = (),
                 likelihood: str = "bernoulli", components: int = 5, fixed_logvar: float | None = None):
        super().__init__()
        if latent < 1:
            raise ValueError(f"latent must be at least 1, got {latent}")
        classes = model_classes(self, classes)
        self.config = dict(image_shape=list(image_shape), latent=latent, architecture=architecture,
                           hidden=list(hidden), channels=list(channels), classes=list(classes),
                           likelihood=likelihood, components=components, fixed_logvar=fixed_logvar)
        self.image_shape, self.latent, self.classes = tuple(image_shape), latent, list(classes)
        self.num_classes = len(classes)
        self.pixels = PixelLikelihood(likelihood, components, fixed_logvar)
        self.encoder = EncoderBody(self.image_shape, architecture, hidden, channels)
        self.posterior = nn.Linear(self.encoder.features + self.num_classes, 2 * latent)
        self.decoder = DecoderBody(latent + self.num_classes, self.image_shape,
                                   self.image_shape[0] * self.pixels.params_per_channel, architecture, hidden,
                                   channels)

    def _with_label(self, h: torch.Tensor, y) -> torch.Tensor:
        if not self.num_classes:
            return h
        if y is None:
            raise ValueError("this conditional VAE needs a class label y")
        return torch.cat([h, one_hot(y, self.num_classes, h.dtype)], dim=1)

    def encode(self, x: torch.Tensor, y=None) -> tuple[torch.Tensor, torch.Tensor]:
        """(μ, log σ²) of q(z|x[, y]), each (B, latent)."""
        mu, logvar = self.posterior(self._with_label(self.encoder(x * 2 - 1), y)).chunk(2, dim=1)
        return mu, logvar.clamp(-12.0, 8.0)

    def decode(self, z: torch.Tensor, y=None) -> torch.Tensor:
        """Decoder outputs (the parameters of p(x|z[, y])), (B, C·params, H, W)."""
        return self.decoder(self._with_label(z, y))

    def log_likelihood(self, x: torch.Tensor, z: torch.Tensor, y=None) -> torch.Tensor:
        return self.pixels.log_prob(self.decode(z, y), x)

    @torch.no_grad()
    def images(self, z: torch.Tensor, y=None) -> torch.Tensor:
        """The mean image of p(x|z[, y]) for each latent, (B, C, H, W) in [0, 1]."""
        return self.pixels.mean(self.decode(z, y))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, y=None) -> torch.Tensor:
        """Decode the posterior mean: what the model keeps of each image."""
        return self.images(self.encode(x, y)[0], y)
