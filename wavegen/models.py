"""Every model wavegen has, in one table: importing this module registers them all.

Core's registry (:mod:`wavegen.core.registry`) names no model; each model's
module registers its class when imported, and this module, above every model,
imports them. ``wavegen.load`` (this module's :func:`load`) therefore rebuilds
any checkpoint wavegen wrote. A model's registry name is its folder or module
name and its recipe's name: ``wavegen/audio/segan/`` is ``segan``, trained by
``wavegen recipe segan``.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from wavegen.audio.classifier import AudioClassifier
from wavegen.audio.hifigan.model import HiFiGAN
from wavegen.audio.segan.model import SEGAN
from wavegen.audio.specgan.model import SpecGAN
from wavegen.audio.wavegan.model import WaveGAN
from wavegen.audio.wavenet.model import WaveNet
from wavegen.core import checkpoint
from wavegen.core.capabilities import Capability, require
from wavegen.vision.cgan import CGAN
from wavegen.vision.classifier import ImageClassifier
from wavegen.vision.cvae import CVAE
from wavegen.vision.dcgan import DCGAN
from wavegen.vision.pixelcnn import PixelCNN
from wavegen.vision.ssvae import SSVAE
from wavegen.vision.vae import VAE

MODELS: dict[str, type[nn.Module]] = {cls.registry_name: cls for cls in (
    SEGAN, WaveNet, SpecGAN, WaveGAN, HiFiGAN, AudioClassifier,
    VAE, CVAE, SSVAE, DCGAN, CGAN, PixelCNN, ImageClassifier)}

# The classifiers that score generators are the one exception to "registry name = recipe name": both
# are trained by `wavegen recipe classifier` (on audio or image data), so each carries its domain.
CLASSIFIERS = (AudioClassifier, ImageClassifier)


def load(path: str | Path, *, device: str | torch.device = "cpu") -> nn.Module:
    """Rebuild a model from a wavegen checkpoint file alone (see :mod:`wavegen.core.checkpoint`), in eval mode.

    ``path`` is a str or :class:`~pathlib.Path` (anything else: a one-line :class:`TypeError`); a missing,
    foreign or damaged file is a one-line :class:`~wavegen.errors.CheckpointError`.
    """
    if not isinstance(path, (str, os.PathLike)) or isinstance(os.fspath(path), bytes):
        raise TypeError(f"path: expected a checkpoint path (a str or pathlib.Path), got {type(path).__name__}")
    return checkpoint.load(path, device=device)


def load_for(path: str | Path, capability: type[Capability], *, device: str | torch.device = "cpu") -> nn.Module:
    """:func:`load`, then a one-line error naming ``path`` unless the model offers ``capability``."""
    model = load(path, device=device)
    require(model, capability, str(path))
    return model
