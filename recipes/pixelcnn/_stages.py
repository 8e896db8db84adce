"""The stages every gated PixelCNN recipe runs, on every image dataset.

Stages: prepare → train (maximum likelihood, Adam; grey images binarised afresh
each step as binarised MNIST is, colour images at 256 levels) → evaluate (test
negative log-likelihood: nats per image for binarised images, bits per
dimension otherwise; the classifier's inception score and Fréchet distance of
samples beside real images') → report (sample grid) [→ classes: the share of
conditional samples the classifier assigns to the asked class].

The model is class-conditional when the data has classes (``conditional``:
false trains an unconditional one). The classifier is the classifier recipe's
for the same data, trained first (in a sibling folder) if it is not there, and
checked before training (:func:`~wavegen.recipes._images.image_judge`); the
splits must hold a training batch and a test image, two when judged
(:func:`~wavegen.recipes._images.check_counts`).
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

import wavegen
from wavegen.core.device import seed_everything
from wavegen.core.experiment import Experiment
from wavegen.core.files import write_json_atomic, write_text_atomic
from wavegen.core.sampling import SampleRequest
from wavegen.errors import WavegenError
from wavegen.recipes._common import checkpoint_digest, fit, model_kwargs, split_overrides
from wavegen.recipes._images import (DATASETS, DEMO_DIGITS, JUDGED_NEEDS, ImagesOnly, Need, batch_need, check_classes,
                                     check_counts, dataset, evaluate_generator, image_judge, image_shape, start,
                                     test_images, train_section, validation_batches)
from wavegen.recipes._judge import MIN_ACCURACY, check_min_accuracy
from wavegen.vision.generate import generate_images
from wavegen.vision.images import save_image_grid
from wavegen.vision.pixelcnn import PixelCNN, PixelCNNTask, quantize
from wavegen.words import counted


def pixelcnn_config(data: str, max_steps: int = 100_000, **preset) -> dict:
    levels = 2 if DATASETS[data]["binarize"] else 256
    config = {
        "model": model_kwargs(PixelCNN, {"image_shape": image_shape(data), "levels": levels, **preset},
                              skip=("classes",)),
        "conditional": True,
        "train": train_section(max_steps, batch_size=32, lr=1e-3),
        # count: test images whose likelihood is reported (0 = all); samples: images drawn (cached path) and
        # scored by the classifier beside real ones; per_class: conditional samples per class it judges;
        # judge_min_accuracy: the least test accuracy of the classifier (0 = any).
        "evaluate": {"count": 0, "samples": 200, "splits": 10, "classifier": "", "per_class": 20,
                     "judge_min_accuracy": MIN_ACCURACY},
        "sample": {"seed": 0, "count": 40},
    }
    if data == "digits":
        config["corpus"] = dict(DEMO_DIGITS)
    return config


def run_pixelcnn(exp_dir: Path, data_root: Path | None, overrides: list[str], *, base_config: dict,
                 dataset_name: str) -> str:
    """Every stage of the module's list, skipping finished ones; returns the results table."""

    def check_config(config):
        PixelCNN(**config["model"], classes=["a", "b"] if config["conditional"] else None)
        ev = config["evaluate"]
        if (ev["splits"] < 1 or ev["samples"] < max(ev["splits"], 2) or ev["per_class"] < 1
                or config["sample"]["count"] < 1):
            raise WavegenError("evaluate.samples must be at least evaluate.splits (at least 1) and 2, and "
                               "evaluate.per_class and sample.count at least 1")
        check_min_accuracy(ev)

    for_classifier, overrides = split_overrides(overrides)

    def before_training(config, data, device):
        judged = bool(config["evaluate"]["classifier"] or data["classes"])
        check_counts(data, "pixelcnn", [batch_need(config["train"]["batch_size"]),
                                        Need("test", 1, "the test likelihood"), *(JUDGED_NEEDS if judged else ())])
        return image_judge(exp_dir, overrides, for_classifier, dataset_name, data, config, device)

    config, exp, device, data, judge = start(exp_dir, data_root, overrides, base_config, dataset_name,
                                             check_config, before_training)
    conditional = config["conditional"] and bool(data["classes"])
    classifier = judge.path if judge else ""
    exp.stage("train", {k: config[k] for k in ("model", "train", "conditional")},
              lambda: train_pixelcnn(exp, data, config, device, conditional))
    model_path = exp.dir / "model.safetensors"
    ev = config["evaluate"]
    nll = exp.stage("evaluate", {"count": ev["count"]}, lambda: evaluate_nll(exp, data, ev["count"], device))
    lines = [nll["line"]]
    if classifier:
        scored = {"count": ev["samples"], "splits": ev["splits"]}
        binarized = config["model"]["levels"] == 2
        scores = exp.stage("scores", {**scored, "classifier": checkpoint_digest(classifier), "binarized": binarized},
                           lambda: evaluate_generator(exp, data, scored, classifier, device, binarized))
        lines.append(scores["table"])
    exp.stage("report", config["sample"], lambda: report_pixelcnn(exp, config["sample"], device))
    if conditional:
        check = exp.stage("classes", {"classifier": checkpoint_digest(classifier), "per_class": ev["per_class"]},
                          lambda: check_classes(model_path, classifier, ev["per_class"], device))
        lines.append(check["line"])
    if judge:
        lines.append(judge.line())
    table = "\n".join(lines)
    write_text_atomic(exp.dir / "results.txt", table + "\n")
    return table


def train_pixelcnn(exp: Experiment, data: dict, config: dict, device: torch.device, conditional: bool) -> dict:
    cfg = config["train"]
    seed_everything(cfg["seed"])
    model = PixelCNN(**config["model"], classes=data["classes"] if conditional else None)
    images, labels = test_images(data, binarize=False, count=200)
    validation = [(x, y if conditional else None) for x, y in validation_batches(images, labels, 200, 50)]
    task = PixelCNNTask(model, lr=cfg["lr"], validation=validation)
    train = dataset(data, "train")
    return fit(exp, task, train if conditional else ImagesOnly(train), cfg, device)


@torch.no_grad()
def evaluate_nll(exp: Experiment, data: dict, count: int, device: torch.device) -> dict:
    """Test NLL: binarised images once with seed 0 (nats per image, comparable with the VAEs' bounds), else
    the 256 levels (bits per dimension)."""
    model = wavegen.load(exp.dir / "model.safetensors", device=device)
    binarized = model.levels == 2
    images, labels = test_images(data, binarize=binarized, count=count)
    total = 0.0
    for x, y in zip(images.split(100), labels.split(100)):
        levels = quantize(x, model.levels).to(device)
        total += model.nll(levels, y.to(device) if model.num_classes else None).sum().item()
    nats = total / len(images)
    bits_per_dim = nats / images[0].numel() / math.log(2)
    given = ", given their labels" if model.num_classes else ""
    what = counted(len(images), "test image") + (", binarised once (seed 0)" if binarized else "") + given
    line = f"test negative log-likelihood on {what}: {nats:.2f} nats/image, {bits_per_dim:.4f} bits/dim"
    write_json_atomic(exp.dir / "nll.json", {"nats_per_image": nats, "bits_per_dim": bits_per_dim,
                                             "images": len(images)})
    return {"nats_per_image": nats, "bits_per_dim": bits_per_dim, "line": line}


def report_pixelcnn(exp: Experiment, cfg: dict, device: torch.device) -> dict:
    model = wavegen.load(exp.dir / "model.safetensors", device=device)
    count = -(-cfg["count"] // max(model.num_classes, 1)) * max(model.num_classes, 1)
    images, _, columns, _, column_labels = generate_images(model, SampleRequest(count=count, seed=cfg["seed"]))
    name = "classes.png" if model.num_classes else "samples.png"
    path = save_image_grid(exp.dir / "samples" / name, images, columns=columns, column_labels=column_labels,
                           title="pixelcnn: samples" + (", a class per column" if model.num_classes else ""))
    return {"files": [str(path)]}
