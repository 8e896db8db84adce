"""Conditional gated PixelCNN (van den Oord et al. 2016) on Fashion-MNIST.

A gated PixelCNN (van den Oord et al. 2016), class-conditional, on binarised Fashion-MNIST (Xiao et al. 2017), the four idx files, gzipped or not.

    wavegen recipe pixelcnn --data fashion-mnist --data-root /data/fashion-mnist --device cuda

Stages: prepare → train → evaluate (test negative log-likelihood) → scores (the classifier's inception
score and Fréchet distance of samples beside real images') → report (samples, a class per column) →
classes (the share of samples that the classifier of `wavegen recipe classifier --data fashion-mnist`
assigns to the asked class; trained first if missing). Samples are drawn along the cached path
(Ramachandran et al. 2017); `wavegen sample --path plain` gives the same images, slowly.
"""

from __future__ import annotations

from pathlib import Path

from wavegen.recipes.pixelcnn._stages import pixelcnn_config, run_pixelcnn

CONFIG = pixelcnn_config("fashion-mnist")


def run(exp_dir: Path, data_root: Path | None, overrides: list[str]) -> str:
    return run_pixelcnn(exp_dir, data_root, overrides, base_config=CONFIG, dataset_name="fashion-mnist")
