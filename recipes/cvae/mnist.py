"""Conditional VAE (Sohn, Lee and Yan 2015) on MNIST.

A conditional VAE (Sohn, Lee and Yan 2015) on MNIST (LeCun et al. 1998), the four idx files, gzipped or not.

    wavegen recipe cvae --data mnist --data-root /data/mnist

Stages: prepare → train → evaluate (bounds on log p(x|y) for the test set) → report (pictures,
one row per z under every class) → classes (the share of conditional samples that the image
classifier of `wavegen recipe classifier` assigns to the asked class; trained first if missing).
"""

from __future__ import annotations

from pathlib import Path

from wavegen.recipes.vae._stages import run_vae, vae_config

CONFIG = vae_config("mnist", conditional=True)


def run(exp_dir: Path, data_root: Path | None, overrides: list[str]) -> str:
    return run_vae(exp_dir, data_root, overrides, base_config=CONFIG, dataset="mnist", conditional=True)
