"""Conditional gated PixelCNN (van den Oord et al. 2016) on a folder of your images.

A gated PixelCNN (van den Oord et al. 2016), class-conditional, on a folder of images (class subfolders, or flat; CelebA and the like) at 256 levels, 64×64.

    wavegen recipe pixelcnn --data folder --data-root /data/celeba --device cuda

Stages: prepare → train → evaluate (test negative log-likelihood) → scores (the classifier's inception
score and Fréchet distance of samples beside real images') → report (samples, a class per column) →
classes (the share of samples that the classifier of `wavegen recipe classifier --data folder`
assigns to the asked class; trained first if missing). Samples are drawn along the cached path
(Ramachandran et al. 2017); `wavegen sample --path plain` gives the same images, slowly.
"""

from __future__ import annotations

from pathlib import Path

from wavegen.recipes.pixelcnn._stages import pixelcnn_config, run_pixelcnn

CONFIG = pixelcnn_config("folder")


def run(exp_dir: Path, data_root: Path | None, overrides: list[str]) -> str:
    return run_pixelcnn(exp_dir, data_root, overrides, base_config=CONFIG, dataset_name="folder")
