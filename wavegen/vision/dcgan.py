"""DCGAN (Radford, Metz and Chintala 2016) on the core's GAN step; its class-conditional form is the ``cgan``.

Generator: z (and, conditional, the one-hot class, concatenated as in Mirza &
Osindero 2014) -> a linear projection to a small feature map -> strided
transposed convolutions (4×4, stride 2) that double the size and halve the
channels, batch norm and ReLU between them, tanh at the output. Discriminator:
the mirror image, strided 4×4 convolutions with LeakyReLU(0.2), batch norm on
every layer but the first, then one linear logit. These are the paper's
architecture guidelines (§3): no pooling, no hidden fully connected layers,
batch norm everywhere except the generator's output and the discriminator's
input.

The size ladder follows the image: 64×64 starts from 4×4 (four doublings, the
paper's LSUN network), 32×32 from 4×4 (three), 28×28 from 7×7 (two).

The conditional form (:class:`~wavegen.vision.cgan.CGAN`) is these networks with
the class as a second input: concatenated to z in the generator, and a
projection in the discriminator (:class:`Discriminator`).

Options beside the paper: the discriminator's normalisation (``"batch"``, the
paper's; ``"layer"``, which WGAN-GP needs because its penalty is per example,
Gulrajani et al. 2017 §4; ``"none"``) and minibatch discrimination (Salimans
et al. 2016, :class:`wavegen.core.layers.MinibatchDiscrimination`). The
objective, label smoothing and instance noise are the core's
(:class:`wavegen.core.gan.GANStepConfig`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from wavegen.core.gan import GANStepConfig, GANTask
from wavegen.core.layers import MinibatchDiscrimination
from wavegen.core.registry import register_model
from wavegen.vision.capabilities import ImageGenerator
from wavegen.vision.networks import model_classes

NORMS = ("batch", "layer", "none")


def size_ladder(size: int) -> tuple[int, int]:
    """(start size, doublings): halve ``size`` while it is even and above 4 (28 -> 7, 2; 32 -> 4, 3; 64 -> 4, 4)."""
    start, doublings = size, 0
    while start % 2 == 0 and start > 4:
        start, doublings = start // 2, doublings + 1
    if doublings == 0:
        raise ValueError(f"image size {size} cannot be reached by doubling from a small map (use 28, 32 or 64)")
    return start, doublings


def _norm(kind: str, channels: int, size: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.LayerNorm([channels, size, size])
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown normalisation {kind!r}; choose from {', '.join(NORMS)}")


class Generator(nn.Module):
    def __init__(self, image_shape, latent: int, width: int, classes: int):
        super().__init__()
        channels, size, _ = image_shape
        self.start, doublings = size_ladder(size)
        self.top = width * 2 ** (doublings - 1)
        self.classes = classes
        self.project = nn.Linear(latent + classes, self.top * self.start ** 2, bias=False)
        self.project_norm = nn.Sequential(nn.BatchNorm2d(self.top), nn.ReLU())
        layers, c = [], self.top
        for i in range(doublings):
            last = i == doublings - 1
            out = channels if last else c // 2
            layers.append(nn.ConvTranspose2d(c, out, 4, stride=2, padding=1, bias=last))
            layers += [nn.Tanh()] if last else [nn.BatchNorm2d(out), nn.ReLU()]
            c = out
        self.body = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.classes:
            z = torch.cat([z, F.one_hot(y, self.classes).to(z.dtype)], dim=1)
        h = self.project(z).view(-1, self.top, self.start, self.start)
        return self.body(self.project_norm(h))


class Discriminator(nn.Module):
    """Given ``classes``, the projection discriminator of Miyato & Koyama (2018): logit = ψ(φ(x)) + ⟨e_y, φ(x)⟩,
    φ the convolutional features and e_y a learned class embedding."""

    def __init__(self, image_shape, width: int, classes: int, norm: str, minibatch_features: int):
        super().__init__()
        channels, size, _ = image_shape
        start, doublings = size_ladder(size)
        layers, c = [], channels
        for i in range(doublings):
            out = width * 2 ** i
            size //= 2
            layers += [nn.Conv2d(c, out, 4, stride=2, padding=1, bias=i == 0 or norm != "batch"),
                       nn.Identity() if i == 0 else _norm(norm, out, size), nn.LeakyReLU(0.2)]
            c = out
        self.body = nn.Sequential(*layers)
        features = c * start * start
        self.minibatch = MinibatchDiscrimination(features, minibatch_features) if minibatch_features else None
        self.logit = nn.Linear(features + minibatch_features, 1)
        self.embed = nn.Embedding(classes, features + minibatch_features) if classes else None

    def features(self, x: torch.Tensor) -> torch.Tensor:
        h = self.body(x).flatten(1)
        return self.minibatch(h) if self.minibatch is not None else h

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.features(x)
        logit = self.logit(h)[:, 0]
        if self.embed is not None:
            logit = logit + (self.embed(y) * h).sum(1)
        return logit


def _dcgan_init(module: nn.Module) -> None:
    """The paper's initialisation (§4): weights from N(0, 0.02); batch-norm scales from N(1, 0.02)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if getattr(module, "bias", None) is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


@register_model("dcgan", aliases=("image_gan",), alias_if=lambda config: not config.get("classes"))
class DCGAN(ImageGenerator, nn.Module):
    """A DCGAN; images in [0, 1] outside, [-1, 1] inside. The methods take the label y of the conditional form."""

    conditional = False            # the CGAN's: classes, at least two

    def __init__(self, image_shape: list[int] = (1, 28, 28), latent: int = 100, width: int = 64,
                 classes: list[str] | None = None, discriminator_norm: str = "batch", minibatch_features: int = 0):
        super().__init__()
        image_shape = list(image_shape)
        if len(image_shape) != 3 or image_shape[1] != image_shape[2]:
            raise ValueError(f"image_shape must be [channels, size, size], got {image_shape}")
        if discriminator_norm not in NORMS:
            raise ValueError(f"unknown discriminator_norm {discriminator_norm!r}; choose from {', '.join(NORMS)}")
        if latent < 1 or width < 1 or minibatch_features < 0:
            raise ValueError("latent and width must be at least 1, minibatch_features at least 0")
        self.image_shape, self.latent = image_shape, latent
        self.classes = model_classes(self, classes)
        self.config = dict(image_shape=image_shape, latent=latent, width=width, classes=self.classes,
                           discriminator_norm=discriminator_norm, minibatch_features=minibatch_features)
        self.generator = Generator(image_shape, latent, width, self.num_classes)
        self.discriminator = Discriminator(image_shape, width, self.num_classes, discriminator_norm,
                                           minibatch_features)
        self.apply(_dcgan_init)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def _check_label(self, y):
        if self.num_classes and y is None:
            raise ValueError("this conditional GAN needs a class label y")
        if not self.num_classes and y is not None:
            raise ValueError("this GAN is not class-conditional: leave out y")

    @torch.no_grad()
    def images(self, z: torch.Tensor, y: torch.Tensor | None = None, batch_size: int = 500) -> torch.Tensor:
        """Generated images (N, C, H, W) in [0, 1] for latents z (N, latent) (and classes y), in eval mode."""
        self._check_label(y)
        was_training = self.training
        self.eval()
        parts = [(self.generator(zp, None if y is None else yp) + 1) / 2
                 for zp, yp in zip(z.split(batch_size), (y if y is not None else z).split(batch_size))]
        self.train(was_training)
        return torch.cat(parts).clamp(0, 1)


class DCGANTask(GANTask):
    """The core's adversarial step on (images in [0, 1], labels) batches, Adam with the paper's β1 = 0.5."""

    def __init__(self, model: DCGAN, *, lr_g: float = 2e-4, lr_d: float = 2e-4, betas=(0.5, 0.999),
                 step_config: GANStepConfig | None = None):
        opt_g = torch.optim.Adam(model.generator.parameters(), lr=lr_g, betas=tuple(betas))
        opt_d = torch.optim.Adam(model.discriminator.parameters(), lr=lr_d, betas=tuple(betas))
        super().__init__(model, model.generator, model.discriminator, opt_g, opt_d,
                         step_config or GANStepConfig(objective="non_saturating"))

    # An unconditional model's "condition" is an empty (B, 0) tensor: it carries the batch size through
    # the core step (which splits conditions like the batch) and means "no class" to the networks.
    def split(self, batch):
        images, labels = batch if isinstance(batch, (list, tuple)) else (batch, None)
        condition = labels if self.model.num_classes else images.new_empty(images.shape[0], 0)
        return images * 2 - 1, condition

    def _label(self, condition):
        return condition if self.model.num_classes else None

    def generate(self, condition):
        z = torch.randn(condition.shape[0], self.model.latent, device=condition.device)
        return self.generator(z, self._label(condition))

    def discriminate(self, x, condition):
        return self.discriminator(x, self._label(condition))
