"""DCGAN (Radford, Metz and Chintala 2016) on the embedded digits.

A DCGAN (Radford, Metz and Chintala 2016) on the embedded handwritten digits (scikit-learn's 1,797 8×8 digits, written as 28×28 MNIST idx files).

    wavegen recipe dcgan --data digits

Stages: prepare → train (the non-saturating objective by default; --set train.objective=least_squares,
hinge, or wgan_gp with --set model.discriminator_norm=layer) → evaluate (the classifier's inception
score and Fréchet distance beside real images') → report (sample grid and latent walks in samples/).
The image classifier of `wavegen recipe classifier --data digits` judges the samples (trained first
if missing).

Sized for two CPU cores: a few minutes.
"""

from __future__ import annotations

from pathlib import Path

from wavegen.recipes.dcgan._stages import gan_config, run_gan

CONFIG = gan_config("digits", conditional=False, max_steps=6000)


def run(exp_dir: Path, data_root: Path | None, overrides: list[str]) -> str:
    return run_gan(exp_dir, data_root, overrides, base_config=CONFIG, dataset_name="digits",
                   conditional=False)
