"""Image classifier (the image generators' judge) on CIFAR-10.

The image classifier that judges conditional samples and generation scores on CIFAR-10 (Krizhevsky 2009), the python pickle batches of cifar-10-batches-py.

    wavegen recipe classifier --data cifar10 --data-root /data/cifar-10-batches-py --device cuda

Stages: prepare → train (cross-entropy, random shifts of up to 2 pixels) → evaluate (test accuracy).
"""

from __future__ import annotations

from pathlib import Path

from wavegen.recipes.classifier._stages import image_classifier_config, run_image_classifier

CONFIG = image_classifier_config("cifar10")


def run(exp_dir: Path, data_root: Path | None, overrides: list[str]) -> str:
    return run_image_classifier(exp_dir, data_root, overrides, base_config=CONFIG, dataset="cifar10")
