"""Image classifier (the image generators' judge) on the embedded digits.

The image classifier that judges conditional samples and generation scores on the embedded handwritten digits (scikit-learn's 1,797 8×8 digits, written as 28×28 MNIST idx files).

    wavegen recipe classifier --data digits

Stages: prepare → train (cross-entropy, random shifts of up to 2 pixels) → evaluate (test accuracy).

Sized for two CPU cores: a few minutes.
"""

from __future__ import annotations

from pathlib import Path

from wavegen.recipes.classifier._stages import image_classifier_config, run_image_classifier

CONFIG = image_classifier_config("digits", max_steps=1500)


def run(exp_dir: Path, data_root: Path | None, overrides: list[str]) -> str:
    return run_image_classifier(exp_dir, data_root, overrides, base_config=CONFIG, dataset="digits")
