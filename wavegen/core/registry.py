"""The model registry: checkpoint header names -> model classes.

A model class registers itself with ``@register_model("name")``; checkpoints
store that name and the constructor keyword arguments, and ``wavegen.load``
looks the class up here to rebuild the model. Modules that define models are
listed in ``_MODEL_MODULES`` so that loading a checkpoint imports them lazily
(core itself never imports audio or vision code at import time).
"""

from __future__ import annotations

import importlib

from torch import nn

_REGISTRY: dict[str, type[nn.Module]] = {}

# Where each registered name lives, so a checkpoint can be loaded without the
# caller importing the model's module first.
_MODEL_MODULES = {
    "segan": "wavegen.audio.segan.model",
    "wavenet": "wavegen.audio.wavenet.model",
    "gan_vocoder": "wavegen.audio.specgan.vocoder",
    "specgan": "wavegen.audio.specgan.specgan",
    "wavegan": "wavegen.audio.specgan.wavegan",
    "audio_classifier": "wavegen.audio.classifier",
    "image_vae": "wavegen.vision.vae",
    "ssvae": "wavegen.vision.vae",
    "image_classifier": "wavegen.vision.classifier",
    "image_gan": "wavegen.vision.gan",
    "pixelcnn": "wavegen.vision.pixelcnn",
}

# Models that ``wavegen sample`` can sample from: the module that implements it
# for each, with ``SampleRequest`` (the options) and ``write_samples``.
_SAMPLER_MODULES = {
    "wavenet": "wavegen.audio.wavenet.generate",
    "gan_vocoder": "wavegen.audio.specgan.vocode",
    "specgan": "wavegen.audio.specgan.generate",
    "wavegan": "wavegen.audio.specgan.generate",
    "image_vae": "wavegen.vision.generate",
    "ssvae": "wavegen.vision.generate",
    "image_gan": "wavegen.vision.generate",
    "pixelcnn": "wavegen.vision.generate",
}


def register_model(name: str):
    """Class decorator: make ``cls`` loadable from checkpoints under ``name``."""

    def decorator(cls: type[nn.Module]) -> type[nn.Module]:
        existing = _REGISTRY.get(name)
        if existing is not None and existing.__qualname__ != cls.__qualname__:
            raise ValueError(f"model name {name!r} is already registered to {existing!r}")
        cls.registry_name = name
        _REGISTRY[name] = cls
        return cls

    return decorator


def get_model_class(name: str) -> type[nn.Module]:
    """The class registered under ``name``; raises ``KeyError`` when unknown."""
    if name not in _REGISTRY and name in _MODEL_MODULES:
        importlib.import_module(_MODEL_MODULES[name])
    return _REGISTRY[name]


def registered_names() -> list[str]:
    return sorted(set(_REGISTRY) | set(_MODEL_MODULES))


def sampler_module(name: str):
    """The module implementing ``wavegen sample`` for model ``name``, or None if it is not generative."""
    return importlib.import_module(_SAMPLER_MODULES[name]) if name in _SAMPLER_MODULES else None
