"""Speaker-conditioned WaveNet (van den Oord et al. 2016) on VCTK-Corpus-0.92.

WaveNet on VCTK, conditioned on the speaker (van den Oord et al. 2016, §3.1).

    wavegen recipe wavenet --data vctk --data-root /path/to/VCTK-Corpus-0.92

The paper trained one WaveNet on 109 VCTK speakers with a one-hot speaker
identity as global conditioning; here the speaker is a learned embedding
projected into every gate. Audio is resampled once to 16 kHz. Reads the 0.92
layout (wav48_silence_trimmed, mic1) or 0.80 (wav48).
"""

from __future__ import annotations

from pathlib import Path

from wavegen.recipes.wavenet import _stages

CONFIG = {
    "conditioning": "speaker",
    "data": {"kind": "vctk", "sample_rate": 16000, "test_utterances": 200, "seed": 0},
    "model": _stages.wavenet_kwargs("reference"),
    "train": dict(_stages.TRAIN),
    "evaluate": {"crop_samples": 16000, "batch_size": 8, "max_batches": 50},
    "sample": {"speakers": 4, "count": 1, "seconds": 3.0, "seed": 0, "temperature": 1.0, "path": "fused"},
}


def run(exp_dir: Path, data_root: Path | None, overrides: list[str]) -> str:
    return _stages.run(exp_dir, data_root, overrides, base_config=CONFIG)
