"""Semi-supervised VAE, M2 (Kingma et al. 2014) on a folder of your images.

The semi-supervised classification VAE, M2 (Kingma, Rezende, Mohamed and Welling 2014) on a folder of images (class subfolders, or flat; CelebA and the like), 64×64.

    wavegen recipe ssvae --data folder --data-root /data/celeba --device cuda

Stages: prepare → for each number of labels (100, 600, 1000, 3000, all): M2 trained on those labels
and the rest of the training set unlabelled, and q(y|x)'s network trained on the labels alone →
the test error table (results.txt) → report (pictures from the run with fewest labels).
"""

from __future__ import annotations

from pathlib import Path

from wavegen.recipes.ssvae._stages import run_ssvae, ssvae_config

CONFIG = ssvae_config("folder")


def run(exp_dir: Path, data_root: Path | None, overrides: list[str]) -> str:
    return run_ssvae(exp_dir, data_root, overrides, base_config=CONFIG, dataset="folder")
