"""The conditional VAE (Sohn, Lee and Yan 2015): the image VAE with the class as a second input.

The one-hot label joins the encoder's features and the decoder's input, so
q(z|x, y) and p(x|y, z); the networks, likelihoods and bounds are the
:class:`~wavegen.vision.vae.VAE`'s. It is built with two classes or more (the
plain ``vae`` refuses them).
"""

from __future__ import annotations

from wavegen.core.registry import register_model
from wavegen.vision.vae import VAE


@register_model("cvae", aliases=("image_vae",), alias_if=lambda config: bool(config.get("classes")))
class CVAE(VAE):
    """q(z|x, y) and p(x|y, z) for images (B, C, H, W) in [0, 1] and class indices y (B,)."""

    conditional = True
