"""wavegen: audio-first generative modelling.

>>> import wavegen
>>> model = wavegen.load("exp/segan-voicebank/model.safetensors")
>>> wavegen.enhance_file(model, "noisy.wav", "enhanced.wav")
"""

__version__ = "0.1.0"


def load(path, *, device="cpu"):
    """Rebuild a model from a wavegen checkpoint file (see :mod:`wavegen.core.checkpoint`)."""
    from wavegen.core.checkpoint import load as _load
    return _load(path, device=device)


def enhance_file(model, input_path, output_path, **kwargs):
    """Enhance one audio file with a speech-enhancement model (see :mod:`wavegen.audio.enhance`)."""
    from wavegen.audio.enhance import enhance_file as _enhance_file
    return _enhance_file(model, input_path, output_path, **kwargs)


def enhance_files(model, inputs, output_dir, **kwargs):
    """Enhance files and folders into ``output_dir``; returns one result per file."""
    from wavegen.audio.enhance import enhance_files as _enhance_files
    return _enhance_files(model, inputs, output_dir, **kwargs)


__all__ = ["__version__", "load", "enhance_file", "enhance_files"]
