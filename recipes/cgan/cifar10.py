"""Class-conditional DCGAN (Mirza & Osindero 2014) on CIFAR-10.

A class-conditional GAN (Mirza & Osindero 2014: the class concatenated to z; a projection
discriminator, Miyato & Koyama 2018) on the DCGAN networks on CIFAR-10 (Krizhevsky 2009), the python pickle batches of cifar-10-batches-py.

    wavegen recipe cgan --data cifar10 --data-root /data/cifar-10-batches-py --device cuda

Stages: prepare → train → evaluate (the classifier's inception score and Fréchet distance beside real
images') → report (one z per row under every class, latent walks) → classes (the share of samples
that the classifier assigns to the asked class).
The image classifier of `wavegen recipe classifier --data cifar10` judges the samples (trained first
if missing).
"""

from __future__ import annotations

from pathlib import Path

from wavegen.recipes.dcgan._stages import gan_config, run_gan

CONFIG = gan_config("cifar10", conditional=True)


def run(exp_dir: Path, data_root: Path | None, overrides: list[str]) -> str:
    return run_gan(exp_dir, data_root, overrides, base_config=CONFIG, dataset_name="cifar10",
                   conditional=True)
