"""WaveNet: model, sampling paths (reference, cached, fused CPU and GPU kernels) and training task."""

from wavegen.audio.wavenet.model import WAVENET_CONFIGS, WaveNet

__all__ = ["WAVENET_CONFIGS", "WaveNet"]
