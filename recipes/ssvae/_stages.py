"""The stages every semi-supervised VAE (M2) recipe runs.

prepare → for each label count: train M2 and a labels-only classifier (q(y|x)'s
network alone) → the test error table → report (pictures, the VAE recipes').
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

import wavegen
from wavegen.core.device import seed_everything
from wavegen.core.experiment import Experiment
from wavegen.core.files import write_json_atomic, write_text_atomic
from wavegen.core.vae import SemiSupervisedVAETask
from wavegen.data.images import ImageManifest
from wavegen.errors import WavegenError
from wavegen.recipes._common import fit, model_kwargs
from wavegen.recipes._images import (DATASETS, DEMO_DIGITS, Need, batch_need, check_counts, model_preset,
                                     require_labels, start, test_images, train_section, validation_batches)
from wavegen.recipes.classifier._stages import train_image_classifier
from wavegen.recipes.vae._stages import report_vae
from wavegen.vision.images import ImageDataset
from wavegen.vision.images import binarize as binarize_images
from wavegen.vision.ssvae import SSVAE, SemiSupervisedDataset, balanced_subset
from wavegen.words import counted


def ssvae_config(dataset: str, max_steps: int = 50_000, lr: float = 3e-4) -> dict:
    """M2 as Kingma et al. 2014 (§4.2) train it, and the same q(y|x) network on the labels alone beside it."""
    preset = {**model_preset(dataset), "latent": 50}
    if preset["architecture"] == "mlp":
        preset.update(hidden=[500], classifier_hidden=[500])
    config = {
        "model": model_kwargs(SSVAE, preset, skip=("classes",)),
        # alpha_ratio: α = alpha_ratio·N, the paper's 0.1·N; batch_size: unlabelled and labelled images per step.
        "train": train_section(max_steps, lr=lr, alpha_ratio=0.1),
        # labels: labelled training examples per run (0 = all); counts above the training set are skipped.
        "labels": [100, 600, 1000, 3000, 0],
        # draws: labelled subsets drawn per count below the whole training set (seeds train.seed, +1, ...).
        "draws": 3,
        "baseline": {"dropout": 0.5, "weight_decay": 1e-4, "lr": 1e-3, "max_shift": 0},
        "sample": {"seed": 0},
    }
    if dataset == "digits":
        config["corpus"] = dict(DEMO_DIGITS)
    return config


def run_ssvae(exp_dir: Path, data_root: Path | None, overrides: list[str], *, base_config: dict,
              dataset: str) -> str:
    """prepare → for each label count: train M2 and a labels-only classifier → the test error table → report.

    Each label count is drawn ``draws`` times (seeds train.seed, +1, ...: the labelled
    subset, the initialisation and the batch order change together) and the table gives
    the mean and spread. Each run lives in ``labels-<n>/draw-<d>/`` (M2's
    ``model.safetensors``, the baseline's in ``baseline/``); the pictures come from the
    first draw with the fewest labels.
    """

    def check_config(config):
        SSVAE(**config["model"], classes=["a", "b"])
        if not config["labels"] or any(n < 0 for n in config["labels"]) or config["train"]["alpha_ratio"] < 0:
            raise WavegenError("labels must be a non-empty list of counts (0 = all) and train.alpha_ratio at least 0")
        if config["draws"] < 1:
            raise WavegenError(f"draws must be at least 1, got {config['draws']}")

    def before_training(config, data, device):
        require_labels(data, "semi-supervised learning")
        check_counts(data, "ssvae", [batch_need(config["train"]["batch_size"]),
                                     Need("test", 1, "the test error and the pictures")])
        total = data["counts"]["train"]
        if all(n > total for n in config["labels"]):
            raise WavegenError(f"labels {config['labels']}: every count is above the "
                               f"{counted(total, 'training image')} of {data['root']}; add 0 (all of them) or a "
                               f"smaller count")

    config, exp, device, data, _ = start(exp_dir, data_root, overrides, base_config, dataset, check_config,
                                         before_training)
    total = data["counts"]["train"]
    counts = sorted({n or total for n in config["labels"] if n <= total})
    skipped = [n for n in config["labels"] if n > total]
    rows = []
    for n in counts:
        m2_errors, baseline_errors = [], []
        for draw in range(config["draws"] if n < total else 1):       # all labels: one subset, one run
            drawn = {**config, "train": {**config["train"], "seed": config["train"]["seed"] + draw}}
            folder = exp.dir / f"labels-{n}" / f"draw-{draw}"
            m2 = exp.stage(f"train-{n}-{draw}", {k: drawn[k] for k in ("model", "train")},
                           lambda: train_ssvae(exp, data, drawn, device, n, folder))
            base = exp.stage(f"baseline-{n}-{draw}", {"train": drawn["train"], "baseline": drawn["baseline"]},
                             lambda: train_baseline(exp, data, drawn, device, n, folder / "baseline"))
            m2_errors.append(m2["error"])
            baseline_errors.append(base["error"])
        rows.append({"labels": n, "m2_errors": m2_errors, "baseline_errors": baseline_errors})
    table = format_ssl_table(rows, dataset, data["counts"]["test"], skipped, total)
    write_json_atomic(exp.dir / "errors.json", rows)
    write_text_atomic(exp.dir / "results.txt", table + "\n")
    exp.stage("report", config["sample"], lambda: report_vae(exp, data, config["sample"], device,
                                                              model_path=exp.dir / f"labels-{counts[0]}" / "draw-0" / "model.safetensors"))
    return table


def train_ssvae(exp: Experiment, data: dict, config: dict, device: torch.device, count: int, folder: Path) -> dict:
    cfg = config["train"]
    seed_everything(cfg["seed"])
    train = ImageManifest.load(data["cache_dir"]).split("train")
    chosen = balanced_subset(np.asarray(train.labels), count, seed=cfg["seed"])
    mixed = SemiSupervisedDataset(train.images, np.asarray(train.labels), chosen)
    model = SSVAE(**config["model"], classes=data["classes"])
    binarize = DATASETS[data["dataset"]]["binarize"]
    images, labels = test_images(data, binarize, 500)
    task = SemiSupervisedVAETask(model, labelled=mixed.labelled_count, unlabelled=mixed.unlabelled_count,
                                 alpha_ratio=cfg["alpha_ratio"], lr=cfg["lr"], augment=binarize_images if binarize else None,
                                 validation=validation_batches(images, labels))
    result = fit(exp, task, mixed, cfg, device, folder=folder)
    trained = wavegen.load(result["checkpoint"], device=device)
    return {**result, "error": _test_error(trained.eval().classify, data, binarize, device)}


def train_baseline(exp: Experiment, data: dict, config: dict, device: torch.device, count: int, folder: Path) -> dict:
    """q(y|x)'s network (same layers) trained on the ``count`` labelled images alone, for as many steps.

    It sees its inputs as M2 does: binarised afresh each step where M2's are.
    """
    train = ImageManifest.load(data["cache_dir"]).split("train")
    labels = np.asarray(train.labels)
    chosen = balanced_subset(labels, count, seed=config["train"]["seed"])
    m = config["model"]
    base = config["baseline"]
    classifier_config = {
        "model": {"image_shape": m["image_shape"], "architecture": m["architecture"], "hidden": m["classifier_hidden"],
                  "channels": m["channels"], "embedding": 0, "dropout": base["dropout"]},
        "train": {**config["train"], "lr": base["lr"], "weight_decay": base["weight_decay"],
                  "max_shift": base["max_shift"]},
    }
    binarize = DATASETS[data["dataset"]]["binarize"]
    result = train_image_classifier(exp, data, classifier_config, device,
                                    train=ImageDataset(train.images[chosen], labels[chosen]), folder=folder,
                                    binarize=binarize)
    trained = wavegen.load(result["checkpoint"], device=device)
    return {**result, "error": _test_error(trained.eval(), data, binarize, device)}


@torch.no_grad()
def _test_error(classify, data: dict, binarize: bool, device: torch.device) -> float:
    """Test error of ``classify`` (images -> logits) on the test split, binarised once if the models train binary."""
    images, labels = test_images(data, binarize)
    wrong = sum((classify(x.to(device)).argmax(-1).cpu() != y).sum().item()
                for x, y in zip(images.split(500), labels.split(500)))
    return wrong / len(images)


def format_ssl_table(rows: list[dict], dataset: str, test_count: int, skipped: list[int], total: int) -> str:
    """Test error per label count, M2 beside the labels-alone classifier: mean ± standard deviation over draws."""
    def cell(errors: list[float]) -> str:
        mean = float(np.mean(errors))
        return f"{mean:.2%}" + (f" ± {float(np.std(errors, ddof=1)):.2%}" if len(errors) > 1 else "")

    lines = [f"semi-supervised test error on {dataset} ({counted(test_count, 'test image')}), lower is better",
             f"{'labels':>7} {'draws':>5} {'M2':>16} {'labels alone':>16}"]
    lines += [f"{r['labels']:>7} {len(r['m2_errors']):>5} {cell(r['m2_errors']):>16} {cell(r['baseline_errors']):>16}"
              for r in rows]
    if skipped:
        lines.append(f"(skipped {', '.join(map(str, skipped))}: the training set has {counted(total, 'image')})")
    lines.append("for reference, Kingma et al. 2014 on MNIST, M2 alone: 11.97% (100 labels), 4.94% (600), 3.60% (1000)")
    return "\n".join(lines)
