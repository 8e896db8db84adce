"""Conditional VAE (Sohn, Lee and Yan 2015) on CIFAR-10.

A conditional VAE (Sohn, Lee and Yan 2015) on CIFAR-10 (Krizhevsky 2009), the python pickle batches of cifar-10-batches-py.

    wavegen recipe cvae --data cifar10 --data-root /data/cifar-10-batches-py --device cuda

Stages: prepare → train → evaluate (bounds on log p(x|y) for the test set) → report (pictures,
one row per z under every class) → classes (the share of conditional samples that the image
classifier of `wavegen recipe classifier` assigns to the asked class; trained first if missing).
"""

from __future__ import annotations

from pathlib import Path

from wavegen.recipes.vae._stages import run_vae, vae_config

CONFIG = vae_config("cifar10", conditional=True)


def run(exp_dir: Path, data_root: Path | None, overrides: list[str]) -> str:
    return run_vae(exp_dir, data_root, overrides, base_config=CONFIG, dataset="cifar10", conditional=True)
