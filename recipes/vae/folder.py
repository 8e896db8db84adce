"""VAE (Kingma and Welling 2014) on a folder of your images.

A VAE (Kingma and Welling 2014) on a folder of images (class subfolders, or flat; CelebA and the like), 64×64.

    wavegen recipe vae --data folder --data-root /data/celeba --device cuda

Stages: prepare → train (the ELBO, Adam) → evaluate (the ELBO and IWAE bounds for k = 1, 5, 50 on the
test set) → report (reconstructions, prior samples and latent walks as PNG in samples/).
"""

from __future__ import annotations

from pathlib import Path

from wavegen.recipes.vae._stages import run_vae, vae_config

CONFIG = vae_config("folder", conditional=False)


def run(exp_dir: Path, data_root: Path | None, overrides: list[str]) -> str:
    return run_vae(exp_dir, data_root, overrides, base_config=CONFIG, dataset="folder", conditional=False)
