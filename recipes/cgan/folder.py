"""Class-conditional DCGAN (Mirza & Osindero 2014) on a folder of your images.

A class-conditional GAN (Mirza & Osindero 2014: the class concatenated to z; a projection
discriminator, Miyato & Koyama 2018) on the DCGAN networks on a folder of images (class subfolders, or flat; CelebA and the like), 64×64.

    wavegen recipe cgan --data folder --data-root /data/celeba --device cuda

Stages: prepare → train → evaluate (the classifier's inception score and Fréchet distance beside real
images') → report (one z per row under every class, latent walks) → classes (the share of samples
that the classifier assigns to the asked class).
The image classifier of `wavegen recipe classifier --data folder` judges the samples (trained first
if missing).
"""

from __future__ import annotations

from pathlib import Path

from wavegen.recipes.dcgan._stages import gan_config, run_gan

CONFIG = gan_config("folder", conditional=True)


def run(exp_dir: Path, data_root: Path | None, overrides: list[str]) -> str:
    return run_gan(exp_dir, data_root, overrides, base_config=CONFIG, dataset_name="folder",
                   conditional=True)
