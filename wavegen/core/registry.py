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

from collections.abc import Callable

from torch import nn

_REGISTRY: dict[str, type[nn.Module]] = {}
# older name -> [(registered name, which configs of that name are this class's, or None for all)]
_ALIASES: dict[str, list[tuple[str, Callable[[dict], bool] | None]]] = {}


def register_model(name: str, *, aliases: tuple[str, ...] = (), alias_if: Callable[[dict], bool] | None = None):
    """Class decorator: make ``cls`` loadable from checkpoints under ``name`` (and its older ``aliases``).

    When one older name now covers two classes (``image_vae``: ``vae``, or ``cvae``
    when conditional), ``alias_if(config)`` says which checkpoints are this class's.
    """

    def decorator(cls: type[nn.Module]) -> type[nn.Module]:
        existing = _REGISTRY.get(name)
        if existing is not None and existing.__qualname__ != cls.__qualname__:
            raise ValueError(f"model name {name!r} is already registered to {existing!r}")
        cls.registry_name = name
        _REGISTRY[name] = cls
        for alias in aliases:
            claims = _ALIASES.setdefault(alias, [])
            if (name, alias_if) not in claims:
                claims.append((name, alias_if))
        return cls

    return decorator


def get_model_class(name: str, config: dict | None = None) -> type[nn.Module]:
    """The class registered under ``name``, or under the older alias ``name`` for this ``config``.

    Raises ``KeyError`` when unknown.
    """
    if name in _REGISTRY:
        return _REGISTRY[name]
    for target, accepts in _ALIASES.get(name, []):
        if accepts is None or accepts(config or {}):
            return _REGISTRY[target]
    raise KeyError(name)


def registered_names() -> list[str]:
    return sorted(_REGISTRY)
