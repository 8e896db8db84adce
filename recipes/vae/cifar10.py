"""VAE (Kingma and Welling 2014) on CIFAR-10.

A VAE (Kingma and Welling 2014) on CIFAR-10 (Krizhevsky 2009), the python pickle batches of cifar-10-batches-py.

    wavegen recipe vae --data cifar10 --data-root /data/cifar-10-batches-py --device cuda

Stages: prepare → train (the ELBO, Adam) → evaluate (the ELBO and IWAE bounds for k = 1, 5, 50 on the
test set) → report (reconstructions, prior samples and latent walks as PNG in samples/).
"""

from __future__ import annotations

from pathlib import Path

from wavegen.recipes.vae._stages import run_vae, vae_config

CONFIG = vae_config("cifar10", conditional=False)


def run(exp_dir: Path, data_root: Path | None, overrides: list[str]) -> str:
    return run_vae(exp_dir, data_root, overrides, base_config=CONFIG, dataset="cifar10", conditional=False)
