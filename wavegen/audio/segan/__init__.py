"""SEGAN speech enhancement (Pascual et al., Interspeech 2017)."""

from wavegen.audio.segan.model import SEGAN, SEGAN_CONFIGS, Discriminator, Generator

__all__ = ["SEGAN", "SEGAN_CONFIGS", "Generator", "Discriminator"]
