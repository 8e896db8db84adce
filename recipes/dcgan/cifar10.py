"""DCGAN (Radford, Metz and Chintala 2016) on CIFAR-10.

A DCGAN (Radford, Metz and Chintala 2016) on CIFAR-10 (Krizhevsky 2009), the python pickle batches of cifar-10-batches-py.

    wavegen recipe dcgan --data cifar10 --data-root /data/cifar-10-batches-py --device cuda

Stages: prepare → train (the non-saturating objective by default; --set train.objective=least_squares,
hinge, or wgan_gp with --set model.discriminator_norm=layer) → evaluate (the classifier's inception
score and Fréchet distance beside real images') → report (sample grid and latent walks in samples/).
The image classifier of `wavegen recipe classifier --data cifar10` judges the samples (trained first
if missing).
"""

from __future__ import annotations

from pathlib import Path

from wavegen.recipes.dcgan._stages import gan_config, run_gan

CONFIG = gan_config("cifar10", conditional=False)


def run(exp_dir: Path, data_root: Path | None, overrides: list[str]) -> str:
    return run_gan(exp_dir, data_root, overrides, base_config=CONFIG, dataset_name="cifar10",
                   conditional=False)
