"""Mel-conditioned WaveNet vocoder on LJSpeech-1.1 (22.05 kHz).

WaveNet vocoder on LJSpeech: mel-conditioned (local conditioning, van den Oord et al. 2016 §2.5).

    wavegen recipe wavenet --data ljspeech --data-root /path/to/LJSpeech-1.1

80 log-mel bands (1024-point FFT, hop 256 at 22.05 kHz, up to 8 kHz, as in
Tacotron 2, Shen et al. 2018) upsampled ×256 by two learned transposed
convolutions. Sampling vocodes the first test utterances from their own mels.
"""

from __future__ import annotations

from pathlib import Path

from wavegen.recipes.wavenet import _stages

CONFIG = {
    "conditioning": "mel",
    "data": {"kind": "ljspeech", "sample_rate": 22050, "test_utterances": 100, "seed": 0},
    "model": _stages.wavenet_kwargs("reference", mel_channels=80, upsample_scales=[16, 16], n_fft=1024,
                                    fmax=8000.0),
    "train": dict(_stages.TRAIN),
    "evaluate": {"crop_samples": 22050, "batch_size": 8, "max_batches": 50},
    "sample": {"speakers": 3, "count": 1, "seconds": None, "seed": 0, "temperature": 1.0, "path": "fused"},
}


def run(exp_dir: Path, data_root: Path | None, overrides: list[str]) -> str:
    return _stages.run(exp_dir, data_root, overrides, base_config=CONFIG)
