"""DCGAN (Radford, Metz and Chintala 2016) on a folder of your images.

A DCGAN (Radford, Metz and Chintala 2016) on a folder of images (class subfolders, or flat; CelebA and the like), 64×64.

    wavegen recipe dcgan --data folder --data-root /data/celeba --device cuda

Stages: prepare → train (the non-saturating objective by default; --set train.objective=least_squares,
hinge, or wgan_gp with --set model.discriminator_norm=layer) → evaluate (the classifier's inception
score and Fréchet distance beside real images') → report (sample grid and latent walks in samples/).
The image classifier of `wavegen recipe classifier --data folder` judges the samples (trained first
if missing).
"""

from __future__ import annotations

from pathlib import Path

from wavegen.recipes.dcgan._stages import gan_config, run_gan

CONFIG = gan_config("folder", conditional=False)


def run(exp_dir: Path, data_root: Path | None, overrides: list[str]) -> str:
    return run_gan(exp_dir, data_root, overrides, base_config=CONFIG, dataset_name="folder",
                   conditional=False)
