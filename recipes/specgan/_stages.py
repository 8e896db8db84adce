"""The stages of the SC09 GAN recipes: SpecGAN's, which WaveGAN's recipes run too (Donahue et al. 2019).

prepare → train (WGAN-GP through the core's GAN step) → ``evaluate`` scores
generated clips beside real test clips through a classifier (trained by the
classifier recipe; run for you in ``<exp parent>/classifier-<data>`` when
``evaluate.classifier`` is empty, with any ``--set classifier.KEY=VALUE``) →
``sample`` writes a batch of clips and a spectrogram grid into ``samples/``.
The classifier is found and checked before training (its words, the data it
was trained on, ``evaluate.judge_min_accuracy``: :mod:`wavegen.recipes._judge`)
and named in the results.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import torch

import wavegen
from wavegen.audio.clip_gan import AudioGANTask
from wavegen.audio.generation import write_samples
from wavegen.audio.specgan.model import SpecGAN
from wavegen.core.device import seed_everything
from wavegen.core.experiment import Experiment
from wavegen.core.files import write_text_atomic
from wavegen.core.sampling import SampleRequest
from wavegen.errors import WavegenError
from wavegen.recipes import _sc09
from wavegen.recipes._common import (checkpoint_digest, fit, main_process_only, model_kwargs, split_overrides,
                                     train_config)
from wavegen.recipes._judge import MIN_ACCURACY, check_min_accuracy
from wavegen.words import counted


def gan_config(model_class, preset: dict) -> dict:
    """A SpecGAN/WaveGAN recipe's config: the paper's training (Donahue et al. 2019, §5), our evaluation.

    ``max_steps`` is ours: the paper trains for days on one GPU and does not fix a step count.
    """
    return {
        "model": model_kwargs(model_class, preset),
        "train": {"max_steps": 100_000, "batch_size": 64, "d_steps": 5, "lr": 1e-4, "betas": [0.5, 0.9],
                  "gp_weight": 10.0, "seed": 0, "device": "auto", "checkpoint_every": 2000, "eval_every": 2000,
                  "log_every": 50, "ema_decay": 0.0},
        # classifier: a classifier checkpoint ("" = the classifier recipe's, trained first if missing), which
        # must reach judge_min_accuracy on its test clips (0 = any); count: generated clips to score, and real
        # training clips scored beside them.
        "evaluate": {"classifier": "", "count": 2000, "seed": 0, "splits": 10, "judge_min_accuracy": MIN_ACCURACY},
        "sample": {"count": 16, "seed": 0},
    }


def gan_demo_config(config: dict, model_class, preset: dict) -> dict:
    """The SC09 ``config`` on the demo corpus, with a small model trained 1000 steps at batch 16."""
    return {**config, "corpus": dict(_sc09.DEMO_CORPUS), "model": model_kwargs(model_class, preset),
            "train": {**config["train"], "max_steps": 1000, "batch_size": 16, "checkpoint_every": 250,
                      "eval_every": 250, "log_every": 10}}


def run_gan(exp_dir: Path, data_root: Path | None, overrides: list[str], *, base_config: dict, model_class,
            dataset: str) -> str:
    """SpecGAN or WaveGAN: prepare → train → evaluate → sample; returns the scores table."""
    def check_config(config):
        model_class(**config["model"])
        train_config(config["train"], torch.device("cpu"))
        cfg = config["train"]
        if cfg["d_steps"] < 1 or cfg["lr"] <= 0 or cfg["gp_weight"] < 0:
            raise WavegenError(f"train.d_steps must be at least 1, train.lr positive and train.gp_weight at "
                               f"least 0, got {cfg['d_steps']}, {cfg['lr']} and {cfg['gp_weight']}")
        if config["evaluate"]["splits"] < 1 or config["sample"]["count"] < 1:
            raise WavegenError("evaluate.splits and sample.count must be at least 1")
        if config["evaluate"]["count"] < max(config["evaluate"]["splits"], 2):
            raise WavegenError(f"evaluate.count ({config['evaluate']['count']}) must be at least evaluate.splits "
                               f"and 2")
        check_min_accuracy(config["evaluate"])

    for_classifier, overrides = split_overrides(overrides)
    def judge_of(config, data, device):
        return _sc09.sc09_judge(exp_dir, overrides, for_classifier, dataset, data, config["evaluate"], device)

    config, exp, device, data, judge = _sc09.start(exp_dir, data_root, overrides, base_config, check_config,
                                                   before_training=judge_of)
    exp.stage("train", {k: config[k] for k in ("model", "train")},
              lambda: train_gan(exp, data, config, device, model_class), all_processes=True)
    if not main_process_only():
        return ""
    classifier = judge.path
    inputs = {k: v for k, v in config["evaluate"].items() if k != "judge_min_accuracy"}
    scores = exp.stage("evaluate", {**inputs, "classifier": checkpoint_digest(classifier)},
                       lambda: evaluate_gan(exp, data, config["evaluate"], classifier, device))
    exp.stage("sample", config["sample"], lambda: sample_gan(exp, config["sample"], classifier, device))
    table = scores["table"] + "\n" + judge.line()
    write_text_atomic(exp.dir / "results.txt", table + "\n")
    return table


def train_gan(exp: Experiment, data: dict, config: dict, device: torch.device, model_class) -> dict:
    cfg = config["train"]
    seed_everything(cfg["seed"])
    model = model_class(**config["model"])
    clips = _sc09.manifest(data).clips("train")
    if isinstance(model, SpecGAN):                   # SpecGAN normalises by the training set's moments
        audio = torch.from_numpy(_sc09.manifest(data).audio("train"))
        model.set_statistics(torch.cat([model.log_magnitude(part) for part in audio.split(256)]))
    validation, _ = _sc09.validation_batch(data, 64)
    task = AudioGANTask(model, lr=cfg["lr"], betas=cfg["betas"], d_steps=cfg["d_steps"], gp_weight=cfg["gp_weight"],
                        validation=validation)
    # Each generator step takes d_steps fresh real minibatches, one per critic update.
    return fit(exp, task, clips, cfg, device, batch_size=cfg["batch_size"] * cfg["d_steps"],
               batch_parts=f"batch {cfg['batch_size']} × {counted(cfg['d_steps'], 'critic step')}")


def evaluate_gan(exp: Experiment, data: dict, cfg: dict, classifier_path: str, device: torch.device) -> dict:
    model = wavegen.load(exp.dir / "model.safetensors", device=device)
    return _sc09.write_scores(exp, data, {model.registry_name: model.generate_audio},
                              wavegen.load(classifier_path, device=device), cfg)


def sample_gan(exp: Experiment, cfg: dict, classifier_path: str, device: torch.device) -> dict:
    model = wavegen.load(exp.dir / "model.safetensors", device=device)
    classifier = wavegen.load(classifier_path, device=device)
    out = exp.dir / "samples"
    shutil.rmtree(out, ignore_errors=True)           # this stage's own output, from an earlier model
    paths = write_samples(model, out, SampleRequest(count=cfg["count"], seed=cfg["seed"]), classifier=classifier)
    return {"files": [str(p) for p in paths]}
