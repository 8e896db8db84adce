"""Conditional VAE (Sohn, Lee and Yan 2015) on the embedded digits.

A conditional VAE (Sohn, Lee and Yan 2015) on the embedded handwritten digits (scikit-learn's 1,797 8×8 digits, written as 28×28 MNIST idx files).

    wavegen recipe cvae --data digits

Stages: prepare → train → evaluate (bounds on log p(x|y) for the test set) → report (pictures,
one row per z under every class) → classes (the share of conditional samples that the image
classifier of `wavegen recipe classifier` assigns to the asked class; trained first if missing).

Sized for two CPU cores: a few minutes.
"""

from __future__ import annotations

from pathlib import Path

from wavegen.recipes.vae._stages import run_vae, vae_config

CONFIG = vae_config("digits", conditional=True, max_steps=3000)


def run(exp_dir: Path, data_root: Path | None, overrides: list[str]) -> str:
    return run_vae(exp_dir, data_root, overrides, base_config=CONFIG, dataset="digits", conditional=True)
