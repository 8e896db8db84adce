"""Class-conditional DCGAN (Mirza & Osindero 2014) on the embedded digits.

A class-conditional GAN (Mirza & Osindero 2014: the class concatenated to z; a projection
discriminator, Miyato & Koyama 2018) on the DCGAN networks on the embedded handwritten digits (scikit-learn's 1,797 8×8 digits, written as 28×28 MNIST idx files).

    wavegen recipe cgan --data digits

Stages: prepare → train → evaluate (the classifier's inception score and Fréchet distance beside real
images') → report (one z per row under every class, latent walks) → classes (the share of samples
that the classifier assigns to the asked class).
The image classifier of `wavegen recipe classifier --data digits` judges the samples (trained first
if missing).

Sized for two CPU cores: a few minutes.
"""

from __future__ import annotations

from pathlib import Path

from wavegen.recipes.dcgan._stages import gan_config, run_gan

CONFIG = gan_config("digits", conditional=True, max_steps=3000)


def run(exp_dir: Path, data_root: Path | None, overrides: list[str]) -> str:
    return run_gan(exp_dir, data_root, overrides, base_config=CONFIG, dataset_name="digits",
                   conditional=True)
