"""Scores of generated images, always beside the same scores of real images.

``wavegen evaluate-generation`` for image checkpoints and the image recipes'
evaluate stages: the image classifier of ``wavegen recipe classifier`` (trained
on the real training set) looks at N generated images and at the real ones,
and :func:`wavegen.core.scores.evaluate_generation` gives the classifier-based
inception score (Salimans et al. 2016), the Fréchet distance on the
classifier's penultimate features (Heusel et al. 2017; the "FID" with our own
classifier in place of Inception v3, so comparable only within a dataset and
classifier), accuracy on real images, class shares and nearest-neighbour
distances. The rows of real test and training images are the scale: a
generator is good where its row approaches the real training images'.
"""

from __future__ import annotations

import numpy as np
import torch

from wavegen.core import scores
from wavegen.core.autoregressive import make_draws
from wavegen.core.capabilities import require
from wavegen.vision.capabilities import ImageGenerator
from wavegen.vision.images import to_tensor
from wavegen.vision.pixelcnn import PixelCNN, generate


@torch.no_grad()
def draw_images(model, count: int, seed: int, *, y: torch.Tensor | None = None, path: str = "cached",
                temperature: float = 1.0, batch_size: int = 250) -> torch.Tensor:
    """``count`` images (N, C, H, W) in [0, 1] from any image generator (VAE, GAN, PixelCNN), on the CPU.

    A conditional model draws classes ``y`` (N,), by default the classes in
    turn. Latent models decode z ~ N(0, I) from a generator seeded with
    ``seed`` (scaled by ``temperature``); PixelCNN samples along ``path`` from
    seeded uniform draws, its softmax sharpened by a ``temperature`` below 1.
    """
    require(model, ImageGenerator)
    model.eval()
    device = next(model.parameters()).device
    if model.num_classes and y is None:
        y = torch.arange(count) % model.num_classes
    y = None if y is None else y.to(device)
    if isinstance(model, PixelCNN):
        parts = []
        for i, start in enumerate(range(0, count, batch_size)):
            n = min(batch_size, count - start)
            draws = make_draws(n, model.steps, 1, seed + i).to(device)
            parts.append(generate(model, draws, None if y is None else y[start:start + n], path=path,
                                  temperature=temperature).cpu())
        return torch.cat(parts).float() / (model.levels - 1)
    z = torch.randn(count, model.latent, generator=torch.Generator().manual_seed(seed)) * temperature
    return torch.cat([model.images(z_part.to(device), None if y is None else y[start:start + len(z_part)]).cpu()
                      for start, z_part in zip(range(0, count, 500), z.split(500))])


@torch.no_grad()
def conditional_accuracy(model, classifier, per_class: int = 100, seed: int = 0) -> float:
    """Share of ``per_class`` samples of each class that ``classifier`` assigns to that class."""
    y = torch.arange(model.num_classes).repeat_interleave(per_class)
    probs, _ = classifier.predict(draw_images(model, len(y), seed, y=y))
    return (probs.argmax(-1) == y).float().mean().item()


def evaluate_images(generators: dict, classifier, real_test, real_train, *, count: int = 1000, seed: int = 0,
                    splits: int = 10) -> list[dict]:
    """:func:`wavegen.core.scores.evaluate_generation` on images; ``generators[name](count, seed)`` -> images."""
    return scores.evaluate_generation(generators, classifier, real_test, real_train, count=count, seed=seed,
                                      splits=splits, noun="images")


def format_image_scores(rows: list[dict]) -> str:
    return scores.format_scores(rows, "images")


def real_images(manifest, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(images (N, C, H, W) in [0, 1], labels (N,)) of one split of a prepared image cache."""
    images = manifest.split(split)
    return to_tensor(images.images), torch.from_numpy(np.array(images.labels))
