"""Stages shared by the SC09 recipes: the digit classifier, SpecGAN and WaveGAN.

Every recipe starts the same way: the corpus (the real Speech Commands folder,
or the generated demo written as a stage), then ``prepare`` packs the ten digit
words into the experiment's ``data/`` cache once. The GAN recipes then train,
``evaluate`` scores generated clips beside real test clips through a classifier
(trained by the classifier recipe; run for you in ``<exp parent>/classifier-<data>``
when ``evaluate.classifier`` is empty, with any ``--set classifier.KEY=VALUE``), and
``sample`` writes a batch of clips and a spectrogram grid into ``samples/``.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import torch

from wavegen.recipes._common import (begin, checkpoint_digest, default_classifier, fit, main_process_only, model_kwargs,
                             split_overrides, train_config)
from wavegen.core.experiment import Experiment, apply_overrides
from wavegen.core.files import write_json_atomic, write_text_atomic
from wavegen.core.trainer import seed_everything
from wavegen.errors import WavegenError
from wavegen.progress import wrap_iterable

log = logging.getLogger(__name__)

DEMO_CORPUS = {"seed": 0, "speakers": 150, "repetitions": 2, "other_words": 4}


def gan_config(model_class, preset: dict) -> dict:
    """A SpecGAN/WaveGAN recipe's config: the paper's training (Donahue et al. 2019, §5), our evaluation.

    ``max_steps`` is ours: the paper trains for days on one GPU and does not fix a step count.
    """
    return {
        "model": model_kwargs(model_class, preset),
        "train": {"max_steps": 100_000, "batch_size": 64, "d_steps": 5, "lr": 1e-4, "betas": [0.5, 0.9],
                  "gp_weight": 10.0, "seed": 0, "device": "auto", "checkpoint_every": 2000, "eval_every": 2000,
                  "log_every": 50, "ema_decay": 0.0},
        # classifier: a classifier checkpoint ("" = the classifier recipe's, trained first if missing);
        # count: generated clips to score, and real training clips scored beside them.
        "evaluate": {"classifier": "", "count": 2000, "seed": 0, "splits": 10},
        "sample": {"count": 16, "seed": 0},
    }


def gan_demo_config(config: dict, model_class, preset: dict) -> dict:
    """The SC09 ``config`` on the demo corpus, with a small model trained 1000 steps at batch 16."""
    return {**config, "corpus": dict(DEMO_CORPUS), "model": model_kwargs(model_class, preset),
            "train": {**config["train"], "max_steps": 1000, "batch_size": 16, "checkpoint_every": 250,
                      "eval_every": 250, "log_every": 10}}


def start(exp_dir: Path, data_root: Path | None, overrides: list[str], base_config: dict, check_config,
          ) -> tuple[dict, Experiment, torch.device, dict]:
    """(config, experiment, device, prepared data): the corpus found or written, packed once."""
    from wavegen.data.sc09 import check_sc09_layout, prepare_sc09
    make_corpus = None
    if "corpus" in base_config:                    # the demo: written as the first stage
        from wavegen.data.sc09_demo import write_sc09_demo
        corpus = apply_overrides(base_config, overrides)["corpus"]
        make_corpus = lambda root: write_sc09_demo(data_root or root, **corpus,          # noqa: E731
                                                   progress=wrap_iterable("write demo corpus", unit="speaker"))
    config, exp, device, root = begin(exp_dir, data_root, overrides, base_config, check_config=check_config,
                                      corpus="sc09", make_corpus=make_corpus,
                                      check_layout=lambda root, config: check_sc09_layout(root))

    def prepare() -> dict:
        manifest = prepare_sc09(root, exp.dir / "data", progress=wrap_iterable("prepare data", unit="clip"))
        return {"cache_dir": str(manifest.cache_dir), "root": str(root), "counts": manifest.counts}

    data = exp.stage("prepare", {"root": str(root)}, prepare, always=True)
    return config, exp, device, data


def manifest(data: dict):
    from wavegen.data.sc09 import SC09Manifest
    return SC09Manifest.load(data["cache_dir"])


def validation_batch(data: dict, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` validation clips and labels (all, if fewer), a seeded draw across the classes.

    The cache holds each split sorted by label, so the first clips would all be "zero"s.
    """
    m = manifest(data)
    rows = torch.randperm(m.counts["validation"], generator=torch.Generator().manual_seed(0))[:count].sort().values
    return torch.from_numpy(m.audio("validation")[rows.numpy()]), torch.from_numpy(m.labels("validation")[rows.numpy()])


# ---------------------------------------------------------------- the classifier recipe

def run_classifier(exp_dir: Path, data_root: Path | None, overrides: list[str], *, base_config: dict) -> str:
    """prepare → train (validation accuracy every eval_every steps) → evaluate on the test split."""
    from wavegen.audio.classifier import AudioClassifier
    from wavegen.data.sc09 import DIGITS

    def check_config(config):
        AudioClassifier(labels=list(DIGITS), **config["model"])
        train_config(config["train"], torch.device("cpu"))
        if config["train"]["max_shift"] < 0 or config["train"]["gain_db"] < 0:
            raise WavegenError("train.max_shift and train.gain_db must be at least 0")

    config, exp, device, data = start(exp_dir, data_root, overrides, base_config, check_config)
    exp.stage("train", {k: config[k] for k in ("model", "train")},
              lambda: train_classifier(exp, data, config, device), all_processes=True)
    if not main_process_only():
        return ""
    return exp.stage("evaluate", config["evaluate"], lambda: evaluate_classifier(exp, data, config["evaluate"],
                                                                                 device))["table"]


def train_classifier(exp: Experiment, data: dict, config: dict, device: torch.device) -> dict:
    from wavegen.audio.classifier import AudioClassifier, classifier_task
    cfg = config["train"]
    seed_everything(cfg["seed"])
    m = manifest(data)
    model = AudioClassifier(labels=list(m.words), **config["model"])
    audio, labels = validation_batch(data, 512)
    task = classifier_task(model, lr=cfg["lr"], max_shift=cfg["max_shift"], gain_db=cfg["gain_db"],
                          validation=list(zip(audio.split(64), labels.split(64))))
    return fit(exp, task, m.clips("train"), cfg, device)


def evaluate_classifier(exp: Experiment, data: dict, cfg: dict, device: torch.device) -> dict:
    """Accuracy and inception score of real clips: near 1.0 and near 10 if the judge is sound."""
    import wavegen
    from wavegen.audio.generation import evaluate_generation, format_scores, real_clips
    classifier = wavegen.load(exp.dir / "model.safetensors", device=device)
    m = manifest(data)
    rows = evaluate_generation({}, classifier, real_clips(m, "test"), real_clips(m, "train"), count=cfg["count"],
                               seed=0, splits=cfg["splits"])
    table = format_scores(rows)
    write_json_atomic(exp.dir / "scores.json", rows)
    write_text_atomic(exp.dir / "results.txt", table + "\n")
    return {"rows": rows, "table": table}


# ---------------------------------------------------------------- the GAN recipes

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
        if config["evaluate"]["count"] < config["evaluate"]["splits"]:
            raise WavegenError(f"evaluate.count ({config['evaluate']['count']}) must be at least evaluate.splits")

    for_classifier, overrides = split_overrides(overrides)
    config, exp, device, data = start(exp_dir, data_root, overrides, base_config, check_config)
    exp.stage("train", {k: config[k] for k in ("model", "train")},
              lambda: train_gan(exp, data, config, device, model_class), all_processes=True)
    if not main_process_only():
        return ""
    classifier = config["evaluate"]["classifier"] or str(
        default_classifier(exp_dir, overrides, for_classifier, dataset, data["root"]))
    scores = exp.stage("evaluate", {**config["evaluate"], "classifier": checkpoint_digest(classifier)},
                       lambda: evaluate_gan(exp, data, config["evaluate"], classifier, device))
    exp.stage("sample", config["sample"], lambda: sample_gan(exp, config["sample"], classifier, device))
    return scores["table"]


def train_gan(exp: Experiment, data: dict, config: dict, device: torch.device, model_class) -> dict:
    from wavegen.audio.specgan.train import AudioGANTask
    cfg = config["train"]
    seed_everything(cfg["seed"])
    model = model_class(**config["model"])
    clips = manifest(data).clips("train")
    if hasattr(model, "set_statistics"):             # SpecGAN normalises by the training set's moments
        audio = torch.from_numpy(manifest(data).audio("train"))
        model.set_statistics(torch.cat([model.log_magnitude(part) for part in audio.split(256)]))
    validation, _ = validation_batch(data, 64)
    task = AudioGANTask(model, lr=cfg["lr"], betas=cfg["betas"], d_steps=cfg["d_steps"], gp_weight=cfg["gp_weight"],
                        validation=validation)
    # Each generator step takes d_steps fresh real minibatches, one per critic update.
    return fit(exp, task, clips, cfg, device, batch_size=cfg["batch_size"] * cfg["d_steps"])


def evaluate_gan(exp: Experiment, data: dict, cfg: dict, classifier_path: str, device: torch.device) -> dict:
    import wavegen
    from wavegen.audio.generation import evaluate_generation, format_scores, real_clips
    model = wavegen.load(exp.dir / "model.safetensors", device=device)
    classifier = wavegen.load(classifier_path, device=device)
    m = manifest(data)
    rows = evaluate_generation({model.registry_name: model.generate_audio}, classifier, real_clips(m, "test"),
                               real_clips(m, "train"), count=cfg["count"], seed=cfg["seed"], splits=cfg["splits"])
    table = format_scores(rows)
    write_json_atomic(exp.dir / "scores.json", rows)
    write_text_atomic(exp.dir / "results.txt", table + "\n")
    return {"rows": rows, "table": table}


def sample_gan(exp: Experiment, cfg: dict, classifier_path: str, device: torch.device) -> dict:
    import wavegen
    from wavegen.audio.specgan.generate import SampleRequest, write_samples
    model = wavegen.load(exp.dir / "model.safetensors", device=device)
    classifier = wavegen.load(classifier_path, device=device)
    out = exp.dir / "samples"
    shutil.rmtree(out, ignore_errors=True)           # this stage's own output, from an earlier model
    paths = write_samples(model, out, SampleRequest(count=cfg["count"], seed=cfg["seed"]), classifier=classifier)
    return {"files": [str(p) for p in paths]}
