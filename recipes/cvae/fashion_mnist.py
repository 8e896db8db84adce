"""Conditional VAE (Sohn, Lee and Yan 2015) on Fashion-MNIST.

A conditional VAE (Sohn, Lee and Yan 2015) on Fashion-MNIST (Xiao, Rasul and Vollgraf 2017), in MNIST's idx layout.

    wavegen recipe cvae --data fashion-mnist --data-root /data/fashion-mnist

Stages: prepare → train → evaluate (bounds on log p(x|y) for the test set) → report (pictures,
one row per z under every class) → classes (the share of conditional samples that the image
classifier of `wavegen recipe classifier` assigns to the asked class; trained first if missing).
"""

from __future__ import annotations

from pathlib import Path

from wavegen.recipes.vae._stages import run_vae, vae_config

CONFIG = vae_config("fashion-mnist", conditional=True)


def run(exp_dir: Path, data_root: Path | None, overrides: list[str]) -> str:
    return run_vae(exp_dir, data_root, overrides, base_config=CONFIG, dataset="fashion-mnist", conditional=True)
