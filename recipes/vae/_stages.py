"""The stages every VAE recipe runs, and the CVAE recipes with ``conditional`` (the same stages, one more).

prepare → train (the ELBO, Adam) → evaluate (the ELBO and IWAE bounds on the
test set) → report (pictures) [→ classes: the share of conditional samples that
the classifier recipe's model assigns to the asked class; trained first if missing].

Before training: a training batch and a test image at least (:func:`~wavegen.recipes._images.check_counts`),
and for the CVAE the judge (:func:`~wavegen.recipes._images.image_judge`), named in the results.
"""

from __future__ import annotations

from pathlib import Path

import torch

import wavegen
from wavegen.core.device import seed_everything
from wavegen.core.experiment import Experiment
from wavegen.core.files import write_json_atomic, write_text_atomic
from wavegen.core.vae import VAETask
from wavegen.errors import WavegenError
from wavegen.recipes._common import checkpoint_digest, fit, model_kwargs, split_overrides
from wavegen.recipes._images import (DATASETS, DEMO_DIGITS, ImagesOnly, Need, batch_need, check_classes,
                                     check_counts, dataset, image_judge, model_preset, require_labels, split, start,
                                     test_images, train_section, validation_batches)
from wavegen.recipes._judge import MIN_ACCURACY, check_min_accuracy
from wavegen.vision.cvae import CVAE
from wavegen.vision.images import binarize as binarize_images
from wavegen.vision.reports import format_bounds, likelihood_bounds, write_pictures
from wavegen.vision.vae import VAE
from wavegen.words import counted


def model_class(conditional: bool) -> type[VAE]:
    return CVAE if conditional else VAE


def vae_config(dataset: str, conditional: bool, max_steps: int = 100_000) -> dict:
    config = {
        "model": model_kwargs(model_class(conditional), model_preset(dataset), skip=("classes",)),
        "train": train_section(max_steps, kl_warmup_steps=0, free_bits=0.0),
        # bounds: IWAE sample counts; count: test images scored (0 = all); per_class: conditional samples
        # per class judged by the classifier ("" = the classifier recipe's, trained first if missing), which
        # must reach judge_min_accuracy on its test images (0 = any).
        "evaluate": {"ks": [1, 5, 50], "count": 0, "classifier": "", "per_class": 100,
                     "judge_min_accuracy": MIN_ACCURACY},
        "sample": {"seed": 0},
    }
    if dataset == "digits":
        config["corpus"] = dict(DEMO_DIGITS)
    if not conditional:
        for key in ("classifier", "per_class", "judge_min_accuracy"):
            del config["evaluate"][key]
    return config


def run_vae(exp_dir: Path, data_root: Path | None, overrides: list[str], *, base_config: dict, dataset: str,
            conditional: bool) -> str:
    """prepare → train → evaluate (ELBO and IWAE bounds on the test set) → report (pictures) [→ class check]."""

    def check_config(config):
        model_class(conditional)(**config["model"], classes=["a", "b"] if conditional else [])
        if any(k < 1 for k in config["evaluate"]["ks"]):
            raise WavegenError(f"evaluate.ks must all be at least 1, got {config['evaluate']['ks']}")
        if conditional:
            check_min_accuracy(config["evaluate"])

    for_classifier, overrides = split_overrides(overrides)

    def before_training(config, data, device):
        if conditional:
            require_labels(data, "a conditional VAE")
        check_counts(data, model_class(conditional).registry_name,
                     [batch_need(config["train"]["batch_size"]),
                      Need("test", 1, "the likelihood bounds and the reconstructions")])
        return image_judge(exp_dir, overrides, for_classifier, dataset, data, config, device) if conditional else None

    config, exp, device, data, judge = start(exp_dir, data_root, overrides, base_config, dataset, check_config,
                                             before_training)
    binarize = DATASETS[dataset]["binarize"]
    exp.stage("train", {k: config[k] for k in ("model", "train")},
              lambda: train_vae(exp, data, config, device, conditional, binarize))
    model_path = exp.dir / "model.safetensors"
    bounds = exp.stage("evaluate", {k: v for k, v in config["evaluate"].items() if k in ("ks", "count")},
                       lambda: evaluate_vae(exp, data, config["evaluate"], binarize, device, conditional))
    exp.stage("report", config["sample"], lambda: report_vae(exp, data, config["sample"], device))
    table = bounds["table"]
    if judge is not None:
        per_class = config["evaluate"]["per_class"]
        check = exp.stage("classes", {"classifier": checkpoint_digest(judge.path), "per_class": per_class},
                          lambda: check_classes(model_path, judge.path, per_class, device))
        table += "\n" + check["line"] + "\n" + judge.line()
    write_text_atomic(exp.dir / "results.txt", table + "\n")
    return table


def train_vae(exp: Experiment, data: dict, config: dict, device: torch.device, conditional: bool,
              binarize: bool) -> dict:
    cfg = config["train"]
    seed_everything(cfg["seed"])
    model = model_class(conditional)(**config["model"], classes=data["classes"] if conditional else [])
    images, labels = test_images(data, binarize, 500)
    validation = validation_batches(images, labels) if conditional else [b for b, _ in validation_batches(images, labels)]
    task = VAETask(model, lr=cfg["lr"], validation=validation, kl_warmup_steps=cfg["kl_warmup_steps"],
                   free_bits=cfg["free_bits"], augment=binarize_images if binarize else None)
    train = dataset(data, "train")
    if not conditional:
        train = ImagesOnly(train)
    return fit(exp, task, train, cfg, device)


def evaluate_vae(exp: Experiment, data: dict, cfg: dict, binarize: bool, device: torch.device,
                 conditional: bool) -> dict:
    model = wavegen.load(exp.dir / "model.safetensors", device=device)
    images, labels = test_images(data, binarize, cfg["count"])
    rows = likelihood_bounds(model, images, labels if conditional else None, ks=cfg["ks"])
    what = (counted(len(images), "test image") + (", binarised once (seed 0)" if binarize else "")
            + (", given their labels: log p(x|y)" if conditional else ""))
    table = format_bounds(rows, what)
    write_json_atomic(exp.dir / "bounds.json", rows)
    return {"rows": rows, "table": table}


def report_vae(exp: Experiment, data: dict, cfg: dict, device: torch.device, model_path: Path | None = None) -> dict:
    """The pictures of :func:`~wavegen.vision.reports.write_pictures` (M2's too) in samples/."""
    model = wavegen.load(model_path or exp.dir / "model.safetensors", device=device)
    images, labels = split(data, "test")
    paths = write_pictures(model, images, labels, exp.dir / "samples", seed=cfg["seed"])
    return {"files": [str(p) for p in paths]}
