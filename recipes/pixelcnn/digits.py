"""Conditional gated PixelCNN (van den Oord et al. 2016) on the embedded digits.

A gated PixelCNN (van den Oord et al. 2016), class-conditional, on the embedded handwritten digits (scikit-learn's 1,797 8×8 digits, written as 28×28 MNIST idx files), binarised.

    wavegen recipe pixelcnn --data digits

Stages: prepare → train → evaluate (test negative log-likelihood) → scores (the classifier's inception
score and Fréchet distance of samples beside real images') → report (samples, a class per column) →
classes (the share of samples that the classifier of `wavegen recipe classifier --data digits`
assigns to the asked class; trained first if missing). Samples are drawn along the cached path
(Ramachandran et al. 2017); `wavegen sample --path plain` gives the same images, slowly.

Sized for two CPU cores: a few minutes (a smaller network than the paper's).
"""

from __future__ import annotations

from pathlib import Path

from wavegen.recipes.pixelcnn._stages import pixelcnn_config, run_pixelcnn

CONFIG = pixelcnn_config("digits", max_steps=1500, channels=32, layers=6, kernel=5, output_hidden=64)


def run(exp_dir: Path, data_root: Path | None, overrides: list[str]) -> str:
    return run_pixelcnn(exp_dir, data_root, overrides, base_config=CONFIG, dataset_name="digits")
