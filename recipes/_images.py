"""The image datasets every image recipe shares: what differs between them, and their prepared cache.

Every image recipe (vae, cvae, ssvae, dcgan, cgan, pixelcnn, classifier) starts
the same way: the dataset (a real one found on disk, or the embedded digits
written in MNIST's layout as a stage), then ``prepare`` packs its train and test
images into the experiment's ``data/`` cache once. The generators' recipes also
share two stages that judge their images through the classifier recipe's model:
``scores`` beside real images (:func:`evaluate_generator`) and ``classes``, the
share of conditional samples of the asked class (:func:`check_classes`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

import wavegen
from wavegen.core.experiment import Experiment, apply_overrides
from wavegen.core.files import write_json_atomic
from wavegen.data.digits_demo import write_digits_demo
from wavegen.data.images import ImageManifest, check_image_layout, prepare_images
from wavegen.errors import WavegenError
from wavegen.progress import wrap_iterable
from wavegen.recipes._common import begin
from wavegen.vision.evaluate import conditional_accuracy, draw_images, evaluate_images, format_image_scores
from wavegen.vision.images import ImageDataset, fixed_binarization, to_tensor

# What differs between datasets: image size, likelihood and network shape.
# Grey-level digit and clothing images are modelled as binarised MNIST is (Bernoulli pixels, a fresh
# binarisation each step, one fixed binarisation of the test set); colour images by a discretised
# logistic mixture over 256 levels.
DATASETS = {
    "digits": {"image_size": None, "binarize": True},
    "mnist": {"image_size": None, "binarize": True},
    "fashion-mnist": {"image_size": None, "binarize": True},
    "cifar10": {"image_size": None, "binarize": False},
    "folder": {"image_size": 64, "binarize": False},
}
GREY = {"architecture": "mlp", "likelihood": "bernoulli"}
COLOUR = {"architecture": "conv", "likelihood": "discretized_logistic", "latent": 128}
DEMO_DIGITS = {"seed": 0, "test_fraction": 0.2}


def image_shape(dataset: str) -> list[int]:
    size = DATASETS[dataset]["image_size"]
    return {"cifar10": [3, 32, 32], "folder": [3, size, size]}.get(dataset, [1, 28, 28])


def model_preset(dataset: str) -> dict:
    if dataset in ("cifar10", "folder"):
        depth = 3 if dataset == "cifar10" else 4
        return {**COLOUR, "channels": [64, 128, 256, 512][:depth], "image_shape": image_shape(dataset)}
    return {**GREY, "image_shape": image_shape(dataset)}


def train_section(max_steps: int, batch_size: int = 100, lr: float = 1e-3, **extra) -> dict:
    every = max(max_steps // 6, 1)
    return {"max_steps": max_steps, "batch_size": batch_size, "lr": lr, "seed": 0, "device": "auto",
            "checkpoint_every": every, "eval_every": every, "log_every": max(min(every // 10, 50), 1),
            "ema_decay": 0.0, **extra}


# ---------------------------------------------------------------- data

def start(exp_dir: Path, data_root: Path | None, overrides: list[str], base_config: dict, dataset: str,
          check_config) -> tuple[dict, Experiment, torch.device, dict]:
    """(config, experiment, device, prepared data): the dataset found (or the digits written), packed once."""
    make_corpus = None
    if dataset == "digits":
        corpus = apply_overrides(base_config, overrides)["corpus"]
        make_corpus = lambda root: write_digits_demo(data_root or root, **corpus)   # noqa: E731
    config, exp, device, root = begin(exp_dir, data_root, overrides, base_config, check_config=check_config,
                                      corpus=dataset, make_corpus=make_corpus,
                                      check_layout=lambda root, config: check_image_layout(dataset, root))

    def prepare() -> dict:
        m = prepare_images(dataset, root, exp.dir / "data", image_size=DATASETS[dataset]["image_size"],
                           progress=wrap_iterable("prepare data", unit="image"))
        return {"cache_dir": str(exp.dir / "data"), "root": str(root), "counts": m.counts,
                "classes": list(m.classes), "dataset": dataset}

    data = exp.stage("prepare", {"root": str(root)}, prepare, always=True)
    return config, exp, device, data


def split(data: dict, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(images (N, C, H, W) float in [0, 1], labels (N,)) of a prepared split."""
    images = ImageManifest.load(data["cache_dir"]).split(name)
    return to_tensor(images.images), torch.from_numpy(np.array(images.labels))


def dataset(data: dict, name: str) -> ImageDataset:
    images = ImageManifest.load(data["cache_dir"]).split(name)
    return ImageDataset(images.images, images.labels)


def test_images(data: dict, binarize: bool, count: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The test split (its first ``count`` in a seeded order, 0 = all), binarised once with seed 0 if asked."""
    images, labels = split(data, "test")
    if count and count < len(images):
        rows = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))[:count]
        images, labels = images[rows], labels[rows]
    return (fixed_binarization(images) if binarize else images), labels


def require_labels(data: dict, what: str) -> None:
    if not data["classes"]:
        raise WavegenError(f"{data['root']}: the images are not in class folders, and {what} needs labels")


def validation_batches(images: torch.Tensor, labels: torch.Tensor, count: int = 500, batch: int = 100):
    """A few held-out batches for the trainer's periodic evaluation."""
    return list(zip(images[:count].split(batch), labels[:count].split(batch)))


class ImagesOnly:
    """A labelled dataset's images alone, for unconditional models."""

    def __init__(self, items):
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int):
        return self.items[index][0]


# ---------------------------------------------------------------- what every image generator's recipe runs

def load_classifier(path: str, classes: list[str], device: torch.device):
    """The classifier recipe's model at ``path``, refused unless it knows exactly ``classes``."""
    classifier = wavegen.load(path, device=device)
    if list(classifier.classes) != list(classes):
        raise WavegenError(f"{path}: a classifier of other classes ({', '.join(classifier.classes)})")
    return classifier


def evaluate_generator(exp: Experiment, data: dict, cfg: dict, classifier_path: str, device: torch.device,
                       binarized: bool = False) -> dict:
    """Scores of ``cfg["count"]`` samples beside real test and training images; scores.json and the table.

    A model of binarised images is scored beside real images binarised once (seed 0), which look like its own.
    """
    model = wavegen.load(exp.dir / "model.safetensors", device=device)
    classifier = load_classifier(classifier_path, data["classes"], device)
    test, train = split(data, "test"), split(data, "train")
    if binarized:
        test, train = (fixed_binarization(test[0]), test[1]), (fixed_binarization(train[0]), train[1])
    rows = evaluate_images({model.registry_name: lambda n, s: draw_images(model, n, s)}, classifier, test, train,
                           count=cfg["count"], splits=cfg["splits"])
    write_json_atomic(exp.dir / "scores.json", rows)
    return {"rows": rows, "table": format_image_scores(rows)}


def check_classes(model_path: Path, classifier_path: str, per_class: int, device: torch.device) -> dict:
    """The share of conditional samples that the classifier assigns to the asked class."""
    model = wavegen.load(model_path, device=device)
    accuracy = conditional_accuracy(model, load_classifier(classifier_path, model.classes, device), per_class)
    line = (f"conditional samples of the asked class, by the classifier: {accuracy:.1%} "
            f"({per_class} per class)")
    return {"accuracy": accuracy, "line": line}
