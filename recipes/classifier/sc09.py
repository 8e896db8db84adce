"""Spoken-digit classifier (the SC09 GANs' judge) on SC09.

The SC09 digit classifier (log-mel CNN) that scores the SC09 generators.

    wavegen recipe classifier --data sc09      # from $WAVEGEN_DATA/speech_commands_v0.02 or ./data/...
    wavegen recipe classifier --data sc09 --data-root /path/to/speech_commands_v0.02

Stages: prepare (pack the ten digit words, 16384 samples each) → train (Adam,
cross-entropy, random shifts of up to 0.1 s and ±6 dB gain; validation
accuracy every eval_every steps) → evaluate (accuracy on the real test clips
and the inception score of real clips: a sound judge gets near 1.0 and near 10).
Donahue et al. 2019 report an inception score of 9.18 for real SC09 training
clips with their classifier.
"""

from __future__ import annotations

from pathlib import Path

from wavegen.audio.classifier import CLASSIFIER_CONFIGS, AudioClassifier
from wavegen.recipes._common import model_kwargs
from wavegen.recipes.classifier import _stages

CONFIG = {
    "model": model_kwargs(AudioClassifier, CLASSIFIER_CONFIGS["default"], skip=("labels",)),
    "train": {"max_steps": 6000, "batch_size": 64, "lr": 1e-3, "max_shift": 1600, "gain_db": 6.0, "seed": 0,
              "device": "auto", "checkpoint_every": 1000, "eval_every": 500, "log_every": 50, "ema_decay": 0.0},
    # The real training clips' inception score over count clips (the scale the GAN recipes use).
    "evaluate": {"count": 2000, "splits": 10},
}


def run(exp_dir: Path, data_root: Path | None, overrides: list[str], *, base_config: dict = CONFIG) -> str:
    return _stages.run_audio_classifier(exp_dir, data_root, overrides, base_config=base_config)
