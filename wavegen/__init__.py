"""wavegen: audio-first generative modelling.

>>> import wavegen
>>> model = wavegen.load("exp/segan-voicebank/model.safetensors")
>>> wavegen.enhance_file(model, "noisy.wav", "enhanced.wav")

The API is imported on first use (PEP 562), so that ``import wavegen.errors`` or
``wavegen --help`` does not load torch and every model.
"""

from wavegen.version import __version__

__all__ = ["__version__", "load", "enhance_file", "enhance_files"]


def __getattr__(name: str):
    if name == "load":                  # rebuilds any checkpoint: wavegen.models registers every model
        from wavegen.models import load
        return load
    if name in ("enhance_file", "enhance_files"):
        from wavegen.audio import enhance
        return getattr(enhance, name)
    raise AttributeError(f"module 'wavegen' has no attribute {name!r}")
