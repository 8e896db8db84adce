"""The audio capabilities a model class declares (see :mod:`wavegen.core.capabilities`)."""

from __future__ import annotations

from wavegen.core.capabilities import Capability, Sampler


class Enhancer(Capability):
    """``wavegen enhance``: noisy speech in, cleaner speech out, window by window.

    An enhancer has ``sample_rate``, ``window`` (samples per window), ``preemph``,
    ``attenuation_limit_db`` and ``window_enhancer(precision)``: a callable taking
    pre-emphasised windows (B, 1, window) and latents to enhanced windows.
    """

    verb = "enhance"


class Vocoder(Capability):
    """``wavegen vocode``: log-mel frames (``self.mel``, a :class:`~wavegen.audio.features.MelSpec`) to a waveform."""

    verb = "vocode"

    @classmethod
    def offered_by(cls, model) -> bool:
        return isinstance(model, cls) and getattr(model, "mel", None) is not None


class ClipGenerator(Sampler):
    """Fixed-length clips from noise (``generate_audio(count, seed)``), scored by ``wavegen evaluate-generation``."""

    verb = "generate clips"
