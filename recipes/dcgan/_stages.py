"""The stages every DCGAN recipe runs, and the conditional GAN recipes with ``conditional``.

Stages: prepare → train (the core's adversarial step; every ``eval_every`` steps
the Fréchet distance of 500 samples to 500 test images, in the classifier's
features, goes to the log) → evaluate (inception score and Fréchet distance
beside the same scores of real test and training images) → report (sample grid
and latent walks as PNG in samples/) [→ classes: the share of conditional
samples the classifier assigns to the asked class].

The classifier is the classifier recipe's for the same data, trained first (in
a sibling folder) if it is not there; ``--set classifier.KEY=VALUE`` reaches it.
Before training, it is checked (:func:`~wavegen.recipes._images.image_judge`:
its classes, its data, ``evaluate.judge_min_accuracy``) and named in the
results, and the splits are checked to hold a training batch and, when judged,
two test images (:func:`~wavegen.recipes._images.check_counts`).
"""

from __future__ import annotations

from pathlib import Path

import torch

import wavegen
from wavegen.core.device import seed_everything
from wavegen.core.experiment import Experiment
from wavegen.core.files import write_text_atomic
from wavegen.core.gan import OBJECTIVES, GANStepConfig
from wavegen.core.scores import frechet_distance
from wavegen.errors import WavegenError
from wavegen.recipes._common import checkpoint_digest, fit, model_kwargs, split_overrides
from wavegen.recipes._images import (DEMO_DIGITS, JUDGED_NEEDS, ImagesOnly, batch_need, check_classes, check_counts,
                                     dataset, evaluate_generator, image_judge, image_shape, require_labels, split,
                                     start, train_section)
from wavegen.recipes._judge import MIN_ACCURACY, check_min_accuracy
from wavegen.vision.cgan import CGAN
from wavegen.vision.dcgan import DCGAN, DCGANTask
from wavegen.vision.evaluate import draw_images
from wavegen.vision.reports import write_generator_pictures


def model_class(conditional: bool) -> type[DCGAN]:
    return CGAN if conditional else DCGAN


def gan_config(data: str, conditional: bool, max_steps: int = 50_000) -> dict:
    """DCGAN as Radford et al. (2016, §4) train it: Adam 2e-4, β1 = 0.5, batch 128 (64 here), N(0, 0.02) init."""
    preset = {"image_shape": image_shape(data), "width": 64 if data in ("digits", "mnist", "fashion-mnist") else 128}
    config = {
        "model": model_kwargs(model_class(conditional), preset, skip=("classes",)),
        # objective: non_saturating | least_squares | wgan_gp (with model.discriminator_norm=layer) | hinge | minimax
        "train": train_section(max_steps, batch_size=64, lr=2e-4, betas=[0.5, 0.999], objective="non_saturating",
                               d_steps=1, real_label=1.0, gp_weight=10.0, instance_noise=0.0,
                               instance_noise_steps=0),
        # count: generated images scored (and real training images beside them); classifier: "" = the
        # classifier recipe's; per_class: conditional samples per class judged by it; judge_min_accuracy:
        # the least test accuracy of the classifier (0 = any).
        "evaluate": {"count": 1000, "splits": 10, "classifier": "", "per_class": 100,
                     "judge_min_accuracy": MIN_ACCURACY},
        "sample": {"seed": 0},
    }
    if data == "digits":
        config["corpus"] = dict(DEMO_DIGITS)
    if not conditional:
        del config["evaluate"]["per_class"]
    return config


def _step_config(cfg: dict) -> GANStepConfig:
    return GANStepConfig(objective=cfg["objective"], d_steps=cfg["d_steps"], real_label=cfg["real_label"],
                         gp_weight=cfg["gp_weight"], instance_noise=cfg["instance_noise"],
                         instance_noise_steps=cfg["instance_noise_steps"])


def run_gan(exp_dir: Path, data_root: Path | None, overrides: list[str], *, base_config: dict, dataset_name: str,
            conditional: bool) -> str:
    """Every stage of the module's list, skipping finished ones; returns the results table."""

    def check_config(config):
        model_class(conditional)(**config["model"], classes=["a", "b"] if conditional else [])
        cfg, ev = config["train"], config["evaluate"]
        if cfg["objective"] not in OBJECTIVES:
            raise WavegenError(f"train.objective {cfg['objective']!r}: choose from {', '.join(OBJECTIVES)}")
        _step_config(cfg)
        if cfg["d_steps"] < 1 or cfg["lr"] <= 0 or not 0 < cfg["real_label"] <= 1:
            raise WavegenError("train.d_steps must be at least 1, train.lr positive and train.real_label in (0, 1]")
        if ev["splits"] < 1 or ev["count"] < max(ev["splits"], 2):
            raise WavegenError(f"evaluate.count ({ev['count']}) must be at least evaluate.splits ({ev['splits']}) "
                               f"and 2, and evaluate.splits at least 1")
        check_min_accuracy(ev)

    for_classifier, overrides = split_overrides(overrides)

    def before_training(config, data, device):
        if conditional:
            require_labels(data, "a conditional GAN")
        judged = bool(config["evaluate"]["classifier"] or data["classes"])
        check_counts(data, model_class(conditional).registry_name,
                     [batch_need(config["train"]["batch_size"], config["train"]["d_steps"]),
                      *(JUDGED_NEEDS if judged else ())])
        return image_judge(exp_dir, overrides, for_classifier, dataset_name, data, config, device)

    config, exp, device, data, judge = start(exp_dir, data_root, overrides, base_config, dataset_name,
                                             check_config, before_training)
    classifier = judge.path if judge else ""
    exp.stage("train", {k: config[k] for k in ("model", "train")},
              lambda: train_gan(exp, data, config, device, conditional, classifier))
    model_path = exp.dir / "model.safetensors"
    lines = []
    if classifier:
        inputs = {k: v for k, v in config["evaluate"].items() if k != "judge_min_accuracy"}
        scores = exp.stage("evaluate", {**inputs, "classifier": checkpoint_digest(classifier)},
                           lambda: evaluate_generator(exp, data, config["evaluate"], classifier, device))
        lines.append(scores["table"])
    exp.stage("report", config["sample"], lambda: report_gan(exp, config["sample"], device))
    if conditional:
        check = exp.stage("classes", {"classifier": checkpoint_digest(classifier),
                                      "per_class": config["evaluate"]["per_class"]},
                          lambda: check_classes(model_path, classifier, config["evaluate"]["per_class"], device))
        lines.append(check["line"])
    if judge:
        lines.append(judge.line())
    else:
        lines.append(f"unlabelled images: no classifier to score the samples; see {exp.dir / 'samples'}")
    table = "\n".join(lines)
    write_text_atomic(exp.dir / "results.txt", table + "\n")
    return table


class FrechetMonitor:
    """The trainer's periodic evaluation: the Fréchet distance of ``count`` samples to real test images."""

    def __init__(self, model, classifier_path: str, real: torch.Tensor, device: torch.device, count: int = 500):
        self.model, self.count = model, count
        self.classifier = wavegen.load(classifier_path, device=device)
        self.real = self.classifier.predict(real[:count])[1]

    def __call__(self) -> dict[str, float]:
        was_training = self.model.training
        images = draw_images(self.model, self.count, seed=0)
        self.model.train(was_training)
        return {"val_frechet": frechet_distance(self.classifier.predict(images)[1], self.real)}


def train_gan(exp: Experiment, data: dict, config: dict, device: torch.device, conditional: bool,
              classifier: str) -> dict:
    cfg = config["train"]
    seed_everything(cfg["seed"])
    model = model_class(conditional)(**config["model"], classes=data["classes"] if conditional else [])
    task = DCGANTask(model, lr_g=cfg["lr"], lr_d=cfg["lr"], betas=cfg["betas"], step_config=_step_config(cfg))
    if classifier:
        task.evaluate = FrechetMonitor(model, classifier, split(data, "test")[0], device)
    train = dataset(data, "train")
    return fit(exp, task, train if conditional else ImagesOnly(train), cfg, device,
               batch_size=cfg["batch_size"] * cfg["d_steps"])


def report_gan(exp: Experiment, cfg: dict, device: torch.device) -> dict:
    model = wavegen.load(exp.dir / "model.safetensors", device=device)
    return {"files": [str(p) for p in write_generator_pictures(model, exp.dir / "samples", seed=cfg["seed"])]}
