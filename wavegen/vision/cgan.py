"""The class-conditional GAN: the DCGAN networks with the class as a second input.

Generator: z and the one-hot class, concatenated (Mirza & Osindero 2014).
Discriminator: the projection discriminator of Miyato & Koyama (2018, "cGANs
with Projection Discriminator"): logit = ψ(φ(x)) + ⟨e_y, φ(x)⟩ with φ the
convolutional features and e_y a learned class embedding. Everything else
(networks, initialisation, the training step :class:`~wavegen.vision.dcgan.DCGANTask`)
is the :class:`~wavegen.vision.dcgan.DCGAN`'s. It is built with two classes or
more (the plain ``dcgan`` refuses them).
"""

from __future__ import annotations

from wavegen.core.registry import register_model
from wavegen.vision.dcgan import DCGAN


@register_model("cgan", aliases=("image_gan",), alias_if=lambda config: bool(config.get("classes")))
class CGAN(DCGAN):
    """A DCGAN generating images of a given class y; images in [0, 1] outside, [-1, 1] inside."""

    conditional = True
