"""HiFi-GAN vocoder (Kong et al. 2020) on LJSpeech-1.1 (22.05 kHz).

GAN vocoder (HiFi-GAN V1, Kong et al. 2020) on LJSpeech, with the WaveNet vocoder's features.

    wavegen recipe hifigan --data ljspeech --data-root /path/to/LJSpeech-1.1 --device cuda
    wavegen recipe hifigan --data ljspeech --set compare.wavenet=exp/wavenet-ljspeech/model.safetensors

80 log-mel bands (1024-point FFT, hop 256 at 22.05 kHz, up to 8 kHz: the
features of ``recipes/wavenet/ljspeech.py``, so either vocoder takes the
other's input). The paper trains V1 for 2.5 M steps at batch 16 (about two
weeks on two V100s); ``model`` takes any preset of
``wavegen.audio.hifigan.model.VOCODER_CONFIGS`` key by key. The comparison
vocodes the 100 held-out test utterances with this vocoder and, when
``compare.wavenet`` names one, the WaveNet vocoder (slow: autoregressive).
"""

from __future__ import annotations

from pathlib import Path

from wavegen.recipes.hifigan import _stages

CONFIG = {
    "data": {"kind": "ljspeech", "sample_rate": 22050, "test_utterances": 100, "seed": 0},
    "model": _stages.vocoder_kwargs("v1"),
    "train": dict(_stages.TRAIN),
    "compare": {"utterances": 100, "wavenet": ""},      # wavenet: a WaveNet vocoder checkpoint, or "" to skip
    "samples": {"utterances": 3},
}


def run(exp_dir: Path, data_root: Path | None, overrides: list[str]) -> str:
    return _stages.run(exp_dir, data_root, overrides, base_config=CONFIG)
