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

import tempfile
from pathlib import Path

import numpy as np
import torch

from wavegen.core import scores
from wavegen.errors import WavegenError


@torch.no_grad()
def draw_images(model, count: int, seed: int, *, y: torch.Tensor | None = None, path: str = "cached",
                temperature: float = 1.0, batch_size: int = 250) -> torch.Tensor:
    """``count`` images (N, C, H, W) in [0, 1] from any image generator (VAE, GAN, PixelCNN), on the CPU.

    A conditional model draws classes ``y`` (N,), by default the classes in
    turn. Latent models decode z ~ N(0, I) from a generator seeded with
    ``seed`` (scaled by ``temperature``); PixelCNN samples along ``path`` from
    seeded uniform draws, its softmax sharpened by a ``temperature`` below 1.
    """
    model.eval()
    device = next(model.parameters()).device
    if model.num_classes and y is None:
        y = torch.arange(count) % model.num_classes
    y = None if y is None else y.to(device)
    if getattr(model, "registry_name", "") == "pixelcnn":
        from wavegen.core.autoregressive import make_draws
        from wavegen.vision.pixelcnn import generate
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
    from wavegen.vision.images import to_tensor
    images = manifest.split(split)
    return to_tensor(images.images), torch.from_numpy(np.array(images.labels))


def _detect_kind(root: Path) -> str:
    """Which reader a dataset folder needs: MNIST's idx files, CIFAR-10's batches, or a folder of images."""
    from wavegen.data.images import check_image_layout
    for kind in ("mnist", "cifar10"):
        try:
            check_image_layout(kind, root)
            return kind
        except WavegenError:
            continue
    return "folder"


def evaluate_checkpoint(model, classifier, data: str | Path, *, count: int = 1000, seed: int = 0,
                        splits: int = 10, progress=None) -> list[dict]:
    """Score an image generator checkpoint's images on a dataset's real images.

    ``data`` is an image recipe's prepared cache (``exp/<recipe>/data``) or a
    dataset folder (MNIST / Fashion-MNIST idx files, CIFAR-10 batches, or class
    folders of images; packed into a temporary cache first).
    """
    from wavegen.data.images import ImageManifest, prepare_images
    if not (hasattr(model, "images") or getattr(model, "registry_name", "") == "pixelcnn"):
        raise WavegenError(f"a {getattr(model, 'registry_name', '?')} checkpoint does not generate images")
    if not hasattr(classifier, "predict") or not hasattr(classifier, "image_shape"):
        raise WavegenError(f"--classifier: a {getattr(classifier, 'registry_name', '?')} checkpoint is not an "
                           "image classifier (train one with `wavegen recipe classifier --data ...`)")
    if list(classifier.image_shape) != list(model.image_shape):
        raise WavegenError(f"--classifier takes {classifier.image_shape} images, the generator makes "
                           f"{model.image_shape}")
    data = Path(data)
    with tempfile.TemporaryDirectory(prefix="wavegen-images-") as scratch:
        if (data / "manifest.json").is_file():
            manifest = ImageManifest.load(data)
        else:
            kind = _detect_kind(data)
            manifest = prepare_images(kind, data, scratch, progress=progress,
                                      image_size=model.image_shape[1] if kind == "folder" else None)
        if list(manifest.classes) != list(classifier.classes):
            raise WavegenError(f"--classifier knows {', '.join(classifier.classes)}, but {data} holds "
                               f"{', '.join(manifest.classes) or 'unlabelled images'}")
        test, train = real_images(manifest, "test"), real_images(manifest, "train")
        if list(test[0].shape[1:]) != list(model.image_shape):
            raise WavegenError(f"{data} holds {list(test[0].shape[1:])} images, the generator makes "
                               f"{model.image_shape}")
        return evaluate_images({model.registry_name: lambda n, s: draw_images(model, n, s)}, classifier,
                               test, train, count=count, seed=seed, splits=splits)
