"""What a model can do, declared by the class that implements it.

A model class inherits from each capability it has (``class SEGAN(Enhancer,
nn.Module)``), so the commands check ``isinstance(model, Enhancer)`` instead of
guessing from attribute names, and a checkpoint that cannot do what was asked
gets an error naming what it can do. The capabilities every family shares live
here; the domain ones (an enhancer, a vocoder, a clip or image generator) in
``wavegen/audio/capabilities.py`` and ``wavegen/vision/capabilities.py``.

A capability may depend on the configuration as well as the class (a WaveNet
vocodes only when it is mel-conditioned): :meth:`Capability.offered_by` says.
"""

from __future__ import annotations

from typing import ClassVar

from wavegen.errors import WavegenError
from wavegen.words import article


class Capability:
    """Base of the capabilities; ``verb`` is how the commands name it ("enhance", "vocode")."""

    verb: ClassVar[str] = ""

    @classmethod
    def offered_by(cls, model) -> bool:
        """Whether ``model`` has this capability (its class declares it; subclasses may also check its config)."""
        return isinstance(model, cls)


class Sampler(Capability):
    """``wavegen sample`` draws new examples from it (sounds or images, from noise or conditioning)."""

    verb = "sample"


class Classifier(Capability):
    """Scores generated examples (``wavegen evaluate-generation``): ``predict`` and ``features`` of a batch."""

    verb = "classify"


def capabilities(model) -> list[str]:
    """The verbs of every capability ``model`` offers, in the order its class declares them."""
    verbs: list[str] = []
    for cls in type(model).__mro__:
        verb = cls.__dict__.get("verb")
        if (isinstance(cls, type) and issubclass(cls, Capability) and verb and verb not in verbs
                and cls.offered_by(model)):
            verbs.append(verb)
    return verbs


def require(model, capability: type[Capability], what: str = "") -> None:
    """A one-line error unless ``model`` offers ``capability``; ``what`` names the checkpoint or option."""
    if capability.offered_by(model):
        return
    can = capabilities(model)
    prefix = f"{what}: " if what else ""
    raise WavegenError(f"{prefix}{article(getattr(model, 'registry_name', type(model).__name__))} checkpoint "
                       f"cannot {capability.verb}"
                       + (f"; it can {', '.join(can)}" if can else ""))
