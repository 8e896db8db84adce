"""Image classifier (the image generators' judge) on Fashion-MNIST.

The image classifier that judges conditional samples and generation scores on Fashion-MNIST (Xiao, Rasul and Vollgraf 2017), in MNIST's idx layout.

    wavegen recipe classifier --data fashion-mnist --data-root /data/fashion-mnist

Stages: prepare → train (cross-entropy, random shifts of up to 2 pixels) → evaluate (test accuracy).
"""

from __future__ import annotations

from pathlib import Path

from wavegen.recipes.classifier._stages import image_classifier_config, run_image_classifier

CONFIG = image_classifier_config("fashion-mnist")


def run(exp_dir: Path, data_root: Path | None, overrides: list[str]) -> str:
    return run_image_classifier(exp_dir, data_root, overrides, base_config=CONFIG, dataset="fashion-mnist")
