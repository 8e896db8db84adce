"""VAE (Kingma and Welling 2014) on the embedded digits.

A VAE (Kingma and Welling 2014) on the embedded handwritten digits (scikit-learn's 1,797 8×8 digits, written as 28×28 MNIST idx files).

    wavegen recipe vae --data digits

Stages: prepare → train (the ELBO, Adam) → evaluate (the ELBO and IWAE bounds for k = 1, 5, 50 on the
test set) → report (reconstructions, prior samples and latent walks as PNG in samples/).

Sized for two CPU cores: a few minutes.
"""

from __future__ import annotations

from pathlib import Path

from wavegen.recipes.vae._stages import run_vae, vae_config

CONFIG = vae_config("digits", conditional=False, max_steps=3000)


def run(exp_dir: Path, data_root: Path | None, overrides: list[str]) -> str:
    return run_vae(exp_dir, data_root, overrides, base_config=CONFIG, dataset="digits", conditional=False)
