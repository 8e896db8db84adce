"""The stages of the classifier recipes: the judges of generated samples and generation scores.

The SC09 digit classifier (the audio one) and the image classifier, both:
prepare → train; the audio one's evaluate gives accuracy and the inception score
of real clips. The image classifier: prepare → train (cross-entropy, random shifts of up to
train.max_shift pixels) → evaluate (test accuracy). M2's recipe trains its
labels-alone baseline with :func:`train_image_classifier` too.

After evaluating, both write ``judge.json`` beside the model
(:func:`wavegen.recipes._judge.write_record`): a fingerprint of the data it was
trained on and its test accuracy, which the generator recipes check before they
train (a run of an older experiment writes it too, without retraining).
"""

from __future__ import annotations

from pathlib import Path

import torch

import wavegen
from wavegen.audio.classifier import AudioClassifier, classifier_task
from wavegen.core.device import seed_everything
from wavegen.core.experiment import Experiment
from wavegen.core.files import write_text_atomic
from wavegen.core.likelihood import ClassifierTask
from wavegen.data.sc09 import DIGITS
from wavegen.errors import WavegenError
from wavegen.recipes import _judge, _sc09
from wavegen.recipes._common import fit, main_process_only, model_kwargs, train_config
from wavegen.recipes._images import (DEMO_DIGITS, Need, check_counts, dataset, image_fingerprint, image_shape,
                                     require_labels, split, start, test_images, train_section, validation_batches)
from wavegen.vision.classifier import ImageClassifier
from wavegen.vision.images import binarize as binarize_images
from wavegen.vision.images import shift_images
from wavegen.words import counted


# ---------------------------------------------------------------- the audio classifier (SC09)

def run_audio_classifier(exp_dir: Path, data_root: Path | None, overrides: list[str], *, base_config: dict) -> str:
    """SC09: prepare → train (validation accuracy every eval_every steps) → evaluate on the test split."""

    def check_config(config):
        AudioClassifier(labels=list(DIGITS), **config["model"])
        train_config(config["train"], torch.device("cpu"))
        if config["train"]["max_shift"] < 0 or config["train"]["gain_db"] < 0:
            raise WavegenError("train.max_shift and train.gain_db must be at least 0")

    config, exp, device, data, _ = _sc09.start(exp_dir, data_root, overrides, base_config, check_config)
    exp.stage("train", {k: config[k] for k in ("model", "train")},
              lambda: train_audio_classifier(exp, data, config, device), all_processes=True)
    if not main_process_only():
        return ""
    result = exp.stage("evaluate", config["evaluate"], lambda: evaluate_audio_classifier(exp, data, config["evaluate"],
                                                                                         device))
    test = result["rows"][0]                                    # the real test clips
    m = _sc09.manifest(data)
    _judge.write_record(exp.dir, dataset="sc09" if "corpus" not in config else "demo", root=data["root"],
                        classes=m.words, fingerprint=_sc09.sc09_fingerprint(data), accuracy=test["accuracy"],
                        count=test["count"], noun="test clip")
    return result["table"]


def train_audio_classifier(exp: Experiment, data: dict, config: dict, device: torch.device) -> dict:
    cfg = config["train"]
    seed_everything(cfg["seed"])
    m = _sc09.manifest(data)
    model = AudioClassifier(labels=list(m.words), **config["model"])
    audio, labels = _sc09.validation_batch(data, 512)
    task = classifier_task(model, lr=cfg["lr"], max_shift=cfg["max_shift"], gain_db=cfg["gain_db"],
                          validation=list(zip(audio.split(64), labels.split(64))))
    return fit(exp, task, m.clips("train"), cfg, device)


def evaluate_audio_classifier(exp: Experiment, data: dict, cfg: dict, device: torch.device) -> dict:
    """Accuracy and inception score of real clips: near 1.0 and near 10 if the judge is sound."""
    return _sc09.write_scores(exp, data, {}, wavegen.load(exp.dir / "model.safetensors", device=device), cfg)


# ---------------------------------------------------------------- the image classifier

def image_classifier_config(dataset: str, max_steps: int = 20_000) -> dict:
    preset = {"image_shape": image_shape(dataset), "architecture": "conv",
              "channels": [32, 64] if dataset != "folder" else [32, 64, 128, 256]}
    config = {"model": model_kwargs(ImageClassifier, preset, skip=("classes",)),
              "train": train_section(max_steps, batch_size=64, max_shift=2, weight_decay=1e-4)}
    if dataset == "digits":
        config["corpus"] = dict(DEMO_DIGITS)
    return config


def run_image_classifier(exp_dir: Path, data_root: Path | None, overrides: list[str], *, base_config: dict,
                         dataset: str) -> str:
    """prepare → train (random shifts of up to train.max_shift pixels) → evaluate (test accuracy)."""

    def check_config(config):
        ImageClassifier(**config["model"], classes=["a", "b"])
        if config["train"]["max_shift"] < 0 or config["train"]["weight_decay"] < 0:
            raise WavegenError("train.max_shift and train.weight_decay must be at least 0")

    def before_training(config, data, device):
        require_labels(data, "a classifier")
        check_counts(data, "classifier", [Need("train", 1, "something to learn from"),
                                          Need("test", 1, "the test accuracy that says whether it can judge")])

    config, exp, device, data, _ = start(exp_dir, data_root, overrides, base_config, dataset, check_config,
                                         before_training)
    exp.stage("train", {k: config[k] for k in ("model", "train")},
              lambda: train_image_classifier(exp, data, config, device))
    result = exp.stage("evaluate", {},
                       lambda: evaluate_image_classifier(exp.dir / "model.safetensors", data, device))
    _judge.write_record(exp.dir, dataset=dataset, root=data["root"], classes=data["classes"],
                        fingerprint=image_fingerprint(data), accuracy=result["accuracy"],
                        count=data["counts"]["test"], noun="test image")
    write_text_atomic(exp.dir / "results.txt", result["line"] + "\n")
    return result["line"]


def train_image_classifier(exp: Experiment, data: dict, config: dict, device: torch.device, *, train=None,
                           folder: Path | None = None, binarize: bool = False) -> dict:
    """Train an image classifier on ``train`` (default: the whole training split), on binarised images if asked."""
    cfg = config["train"]
    seed_everything(cfg["seed"])
    model = ImageClassifier(**config["model"], classes=data["classes"])
    images, labels = test_images(data, binarize=binarize, count=500)
    task = ClassifierTask(model, lr=cfg["lr"], weight_decay=cfg["weight_decay"],
                          augment=lambda x: shift_images(binarize_images(x) if binarize else x, cfg["max_shift"]),
                          validation=validation_batches(images, labels))
    train = dataset(data, "train") if train is None else train
    return fit(exp, task, train, cfg, device, batch_size=min(cfg["batch_size"], len(train)), folder=folder)


def evaluate_image_classifier(path: Path, data: dict, device: torch.device) -> dict:
    classifier = wavegen.load(path, device=device)
    images, labels = split(data, "test")
    accuracy = classifier.accuracy(images, labels)
    return {"accuracy": accuracy, "line": f"test accuracy {accuracy:.2%} ({counted(len(images), 'test image')}, "
                                          f"error {1 - accuracy:.2%})"}
