"""Semi-supervised VAE, M2 (Kingma et al. 2014) on CIFAR-10.

The semi-supervised classification VAE, M2 (Kingma, Rezende, Mohamed and Welling 2014) on CIFAR-10 (Krizhevsky 2009), the python pickle batches of cifar-10-batches-py.

    wavegen recipe ssvae --data cifar10 --data-root /data/cifar-10-batches-py --device cuda

Stages: prepare → for each number of labels (100, 600, 1000, 3000, all): M2 trained on those labels
and the rest of the training set unlabelled, and q(y|x)'s network trained on the labels alone →
the test error table (results.txt) → report (pictures from the run with fewest labels).
"""

from __future__ import annotations

from pathlib import Path

from wavegen.recipes.ssvae._stages import run_ssvae, ssvae_config

CONFIG = ssvae_config("cifar10")


def run(exp_dir: Path, data_root: Path | None, overrides: list[str]) -> str:
    return run_ssvae(exp_dir, data_root, overrides, base_config=CONFIG, dataset="cifar10")
