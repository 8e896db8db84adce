"""Image classifier (the image generators' judge) on MNIST.

The image classifier that judges conditional samples and generation scores on MNIST (LeCun et al. 1998), the four idx files, gzipped or not.

    wavegen recipe classifier --data mnist --data-root /data/mnist

Stages: prepare → train (cross-entropy, random shifts of up to 2 pixels) → evaluate (test accuracy).
"""

from __future__ import annotations

from pathlib import Path

from wavegen.recipes.classifier._stages import image_classifier_config, run_image_classifier

CONFIG = image_classifier_config("mnist")


def run(exp_dir: Path, data_root: Path | None, overrides: list[str]) -> str:
    return run_image_classifier(exp_dir, data_root, overrides, base_config=CONFIG, dataset="mnist")
