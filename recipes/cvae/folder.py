"""Conditional VAE (Sohn, Lee and Yan 2015) on a folder of your images.

A conditional VAE (Sohn, Lee and Yan 2015) on a folder of images (class subfolders, or flat; CelebA and the like), 64×64.

    wavegen recipe cvae --data folder --data-root /data/celeba --device cuda

Stages: prepare → train → evaluate (bounds on log p(x|y) for the test set) → report (pictures,
one row per z under every class) → classes (the share of conditional samples that the image
classifier of `wavegen recipe classifier` assigns to the asked class; trained first if missing).
"""

from __future__ import annotations

from pathlib import Path

from wavegen.recipes.vae._stages import run_vae, vae_config

CONFIG = vae_config("folder", conditional=True)


def run(exp_dir: Path, data_root: Path | None, overrides: list[str]) -> str:
    return run_vae(exp_dir, data_root, overrides, base_config=CONFIG, dataset="folder", conditional=True)
