"""The image capabilities a model class declares (see :mod:`wavegen.core.capabilities`)."""

from __future__ import annotations

from wavegen.core.capabilities import Capability, Sampler


class ImageGenerator(Sampler):
    """Images from its prior (``wavegen sample``), scored by ``wavegen evaluate-generation``."""

    verb = "generate images"


class ImageEncoder(Capability):
    """Places an image in its latent space (``encode``), so ``wavegen sample --interpolate`` walks between files."""

    verb = "encode images"
