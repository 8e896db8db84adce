"""The image datasets every image recipe shares: what differs between them, and their prepared cache.

Every image recipe (vae, cvae, ssvae, dcgan, cgan, pixelcnn, classifier) starts
the same way (:func:`start`): the dataset (a real one found on disk, or the
embedded digits written in MNIST's layout as a stage), then ``prepare`` packs
its train and test images into the experiment's ``data/`` cache once. A folder
of images is prepared at the size of ``model.image_shape`` (square, RGB); the
other datasets keep their own size, and an ``image_shape`` that differs is
refused naming the one to set. Before anything trains, each recipe says how many
images its stages need (:func:`check_counts`: a training batch, test images to
score) and a split with fewer is refused in one line naming it.

The generators' recipes also share the classifier that judges their images
(:func:`image_judge`, checked before training by :mod:`~wavegen.recipes._judge`)
and two stages that use it: ``scores`` beside real images
(:func:`evaluate_generator`) and ``classes``, the share of conditional samples
of the asked class (:func:`check_classes`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

import wavegen
from wavegen.core.experiment import Experiment, apply_overrides
from wavegen.core.files import write_json_atomic
from wavegen.data.cifar10 import TEST_BATCH
from wavegen.data.digits_demo import write_digits_demo
from wavegen.data.images import SPLITS, ImageManifest, check_image_layout, prepare_images
from wavegen.data.mnist import SPLIT_FILES, find_idx_files
from wavegen.errors import WavegenError
from wavegen.progress import wrap_iterable
from wavegen.recipes import _judge
from wavegen.recipes._common import begin
from wavegen.vision.evaluate import conditional_accuracy, draw_images, evaluate_images, format_image_scores
from wavegen.vision.images import ImageDataset, fixed_binarization, to_tensor
from wavegen.words import counted

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
          check_config, before_training: Callable[[dict, dict, torch.device], Any] | None = None,
          ) -> tuple[dict, Experiment, torch.device, dict, Any]:
    """(config, experiment, device, prepared data, what ``before_training`` returned).

    The dataset is found (or the digits written) and packed once. The prepared
    images must have the shape of ``model.image_shape`` (a folder's are made so),
    and then ``before_training(config, data, device)`` checks what else the recipe needs
    (:func:`check_counts`, the judge): both within the prepare stage, so that a
    refusal leaves no config.json behind.
    """
    def check(config):
        check_config(config)
        if dataset == "folder":
            shape = list(config["model"]["image_shape"])
            if len(shape) != 3 or shape[0] != 3 or shape[1] != shape[2] or shape[1] < 1:
                raise ValueError(f"a folder's images are prepared as square colour images, so model.image_shape "
                                 f"must be [3, S, S] (S pixels a side), got {shape}")

    make_corpus = None
    if dataset == "digits":
        corpus = apply_overrides(base_config, overrides)["corpus"]
        make_corpus = lambda root: write_digits_demo(data_root or root, **corpus)   # noqa: E731
    config, exp, device, root = begin(exp_dir, data_root, overrides, base_config, check_config=check,
                                      corpus=dataset, make_corpus=make_corpus,
                                      check_layout=lambda root, config: check_image_layout(dataset, root))
    size = config["model"]["image_shape"][1] if dataset == "folder" else DATASETS[dataset]["image_size"]
    checked = []

    def prepare() -> dict:
        m = prepare_images(dataset, root, exp.dir / "data", image_size=size,
                           progress=wrap_iterable("prepare data", unit="image"))
        data = {"cache_dir": str(exp.dir / "data"), "root": str(root), "counts": m.counts,
                "classes": list(m.classes), "dataset": dataset}
        check_image_shape(data, config, check_config)
        checked.append(before_training(config, data, device) if before_training else None)
        return data

    data = exp.stage("prepare", {"root": str(root)}, prepare, always=True)
    return config, exp, device, data, checked[0] if checked else None      # None where another process ran it


def check_image_shape(data: dict, config: dict, check_config) -> None:
    """Refuse prepared images of another shape than ``model.image_shape``, naming the setting that fits them."""
    height, width, channels = ImageManifest.load(data["cache_dir"]).shape
    found, wanted = [channels, height, width], list(config["model"]["image_shape"])
    if found == wanted:
        return
    images = f"{data['root']}: the images are {height}×{width} with {counted(channels, 'channel')}"
    try:
        with torch.device("meta"):
            check_config({**config, "model": {**config["model"], "image_shape": found}})
    except (ValueError, TypeError, RuntimeError, WavegenError) as exc:
        raise WavegenError(f"{images}, but model.image_shape is {wanted}, and the model cannot take "
                           f"{found} ({exc}); resize the images to a size it takes") from None
    setting = json.dumps(found, separators=(",", ":"))
    raise WavegenError(f"{images}, but model.image_shape is {wanted}; use --set model.image_shape={setting}")


# ---------------------------------------------------------------- how many images each stage needs

@dataclass(frozen=True)
class Need:
    """At least ``count`` images in ``split`` ("train" or "test"), for ``why``.

    ``setting`` names the config key that asks for them, ``per_unit`` images per unit of it.
    """
    split: str
    count: int
    why: str
    setting: str = ""
    per_unit: int = 1


def batch_need(batch_size: int, d_steps: int = 1) -> Need:
    """One training batch (``d_steps`` of them for a GAN step that feeds each discriminator update its own)."""
    per = " × train.d_steps" if d_steps > 1 else ""
    return Need("train", batch_size * d_steps, f"one training batch, train.batch_size{per}", "train.batch_size",
                d_steps)


# The Fréchet distance compares two sets of classifier features, each of at least two images.
FRECHET = "the Fréchet distance between real and generated images"
JUDGED_NEEDS = (Need("train", 2, FRECHET), Need("test", 2, FRECHET))


def check_counts(data: dict, recipe: str, needs) -> None:
    """Refuse, in one line naming the split's files, a split with fewer images than a stage of ``recipe`` needs."""
    for need in needs:
        have = data["counts"][need.split]
        if have < need.count:
            noun = "training image" if need.split == "train" else "test image"
            fits = have // need.per_unit
            fix = f"; lower it with --set {need.setting}={fits}" if need.setting and fits else ""
            raise WavegenError(f"{split_source(data, need.split)}: {counted(have, noun)}, and {recipe} needs at "
                               f"least {need.count} ({need.why}){fix}{_split_hint(data)}")


def split_source(data: dict, split: str) -> str:
    """Where a prepared split's images come from, as the user would look for them."""
    root, kind = Path(data["root"]), data["dataset"]
    if kind == "folder":
        if all((root / name).is_dir() for name in SPLITS):
            return str(root / split)
        share = "the 10 % of its images held out" if split == "test" else "the 90 % not held out"
        return f"{root} (its {split} split: {share} by a hash of each path)"
    if kind == "cifar10":
        return str(root / TEST_BATCH) if split == "test" else f"{root} (data_batch_1 to data_batch_5)"
    try:
        return str(find_idx_files(root, kind)[SPLIT_FILES[split][0]])
    except WavegenError:
        return f"{root} ({split} split)"


def _split_hint(data: dict) -> str:
    root = Path(data["root"])
    if data["dataset"] == "folder" and not all((root / name).is_dir() for name in SPLITS):
        return f"; add images, or choose the split with train/ and test/ folders in {root}"
    return ""


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

def image_judge(exp_dir: Path, overrides: list[str], for_classifier: list[str], dataset: str, data: dict,
                config: dict, device: torch.device) -> _judge.Judge | None:
    """The classifier that judges this run's images, checked (:func:`~wavegen.recipes._judge.check_judge`).

    None for images without classes and no ``evaluate.classifier``. The classifier
    recipe's model is trained first when missing, at this run's image shape.
    """
    ev = config["evaluate"]
    if not ev["classifier"] and not data["classes"]:
        return None
    shape = list(config["model"]["image_shape"])
    compact = json.dumps(shape, separators=(",", ":"))
    settings = () if shape == image_shape(dataset) else (f"model.image_shape={compact}",)
    if not any(o.startswith("model.image_shape=") for o in for_classifier):
        for_classifier = [*for_classifier, *settings]
    path = _judge.locate_judge(ev["classifier"], exp_dir, overrides, for_classifier, dataset, data["root"])

    def measure(classifier) -> tuple[float, int]:
        images, labels = split(data, "test")
        return classifier.accuracy(images, labels), len(labels)

    def problem(classifier) -> str | None:
        theirs = list(getattr(classifier, "image_shape", []))
        return None if theirs == shape else f"it takes {theirs} images, and this run's are {shape}"

    request = _judge.JudgeRequest(dataset=dataset, root=data["root"], classes=list(data["classes"]),
                                  fingerprint=image_fingerprint(data), min_accuracy=ev["judge_min_accuracy"],
                                  noun="test image", measure=measure, problem=problem, settings=settings)
    return _judge.check_judge(path, request, device)


def image_fingerprint(data: dict) -> str:
    """:func:`~wavegen.recipes._judge.data_fingerprint` of a prepared image cache."""
    manifest = ImageManifest.load(data["cache_dir"])
    sets = {name: manifest.split(name) for name in SPLITS}
    return _judge.data_fingerprint(manifest.classes, {name: (s.images, s.labels) for name, s in sets.items()})


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
