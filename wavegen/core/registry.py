"""The model registry: checkpoint header names -> model classes.

A model class registers itself with ``@register_model("name")``; checkpoints
store that name and the constructor keyword arguments, and ``wavegen.load``
looks the class up here to rebuild the model. Core names no model: a model's
module registers it when imported, and :mod:`wavegen.models` (above every model)
imports them all, so ``import wavegen`` knows every model wavegen has.

The name is the model's folder (or module) name and its recipe's name
(``wavegen/audio/segan/`` registers ``segan``, trained by ``wavegen recipe segan``);
``aliases`` are names older checkpoints were written under.
"""

from __future__ import annotations

from torch import nn

_REGISTRY: dict[str, type[nn.Module]] = {}
_ALIASES: dict[str, str] = {}


def register_model(name: str, *, aliases: tuple[str, ...] = ()):
    """Class decorator: make ``cls`` loadable from checkpoints under ``name`` (and its older ``aliases``)."""

    def decorator(cls: type[nn.Module]) -> type[nn.Module]:
        existing = _REGISTRY.get(name)
        if existing is not None and existing.__qualname__ != cls.__qualname__:
            raise ValueError(f"model name {name!r} is already registered to {existing!r}")
        cls.registry_name = name
        _REGISTRY[name] = cls
        _ALIASES.update(dict.fromkeys(aliases, name))
        return cls

    return decorator


def get_model_class(name: str) -> type[nn.Module]:
    """The class registered under ``name`` (or an older alias of it); raises ``KeyError`` when unknown."""
    return _REGISTRY[_ALIASES.get(name, name)]


def registered_names() -> list[str]:
    return sorted(_REGISTRY)
