"""Image classifier (the image generators' judge) on a folder of your images.

The image classifier that judges conditional samples and generation scores on a folder of images (class subfolders, or flat; CelebA and the like), 64×64.

    wavegen recipe classifier --data folder --data-root /data/celeba --device cuda

Stages: prepare → train (cross-entropy, random shifts of up to 2 pixels) → evaluate (test accuracy).
"""

from __future__ import annotations

from pathlib import Path

from wavegen.recipes.classifier._stages import image_classifier_config, run_image_classifier

CONFIG = image_classifier_config("folder")


def run(exp_dir: Path, data_root: Path | None, overrides: list[str]) -> str:
    return run_image_classifier(exp_dir, data_root, overrides, base_config=CONFIG, dataset="folder")
