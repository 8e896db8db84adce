"""The stages every SEGAN recipe runs (VoiceBank-DEMAND and the demo); each dataset file holds its config.

prepare (16 kHz cache + manifest) → score the noisy test set → train (with
whole-utterance validation on held-out training speakers when asked) → enhance
the test set → evaluate noisy and enhanced side by side (``results.txt``) → a few
examples (clean, noisy, enhanced) into the experiment's samples/ folder.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import torch

import wavegen
from wavegen.audio.evaluate import evaluate_folders, format_table
from wavegen.audio.metrics import METRIC_NAMES
from wavegen.audio.segan.model import SEGAN, SEGAN_CONFIGS
from wavegen.audio.segan.train import SEGANTask, draw_reference_batch
from wavegen.audio.validation import UtteranceValidation
from wavegen.core import distributed as dist
from wavegen.core.checkpoint import read_checkpoint
from wavegen.core.device import seed_everything
from wavegen.core.experiment import Experiment, describe_publication, plot_evaluations
from wavegen.core.files import copy_file_atomic, write_text_atomic
from wavegen.core.gan import GANStepConfig
from wavegen.core.trainer import Trainer
from wavegen.data.voicebank import (VoiceBankManifest, VoiceBankWindows, check_voicebank_layout, prepare_voicebank,
                                    train_folders, training_speakers)
from wavegen.errors import DatasetError, WavegenError
from wavegen.progress import seconds_callback, wrap_iterable
from wavegen.recipes._common import check_positive, model_kwargs, require_batches, train_config
from wavegen.words import counted


def segan_kwargs(preset: str) -> dict:
    """Every SEGAN constructor argument for a named preset, so each can be --set."""
    return model_kwargs(SEGAN, SEGAN_CONFIGS[preset])


def check_config(config: dict) -> None:
    """What can be refused before any work: the model's shape, the training and enhancement settings."""
    SEGAN(**config["model"])
    train_config(config["train"], torch.device("cpu"), max_steps=1)
    check_positive(config, "train.reference_batch", "enhance.batch_size", "samples.count")
    cfg = config["train"]
    names = ["val_l1", "val_snr_db", "val_input_snr_db"]
    if cfg["validation_speakers"] > 0:
        names += [f"val_{m}" for m in (*METRIC_NAMES, "min_gain")]
    if cfg["validation_speakers"] < 0:
        raise WavegenError(f"train.validation_speakers must be at least 0, got {cfg['validation_speakers']}")
    if not 0 < config["data"]["hop"] <= 1 or int(config["model"]["window"] * config["data"]["hop"]) < 1:
        raise WavegenError(f"data.hop must be a fraction of model.window in (0, 1] giving at least one sample, "
                           f"got {config['data']['hop']}")
    if cfg["select_by"] and cfg["select_by"] not in names:
        raise WavegenError(f"train.select_by={cfg['select_by']!r}: expected one of {', '.join(names)} "
                           + ("" if cfg["validation_speakers"] else "(val_pesq and the others need "
                              "train.validation_speakers > 0)"))
    limits = cfg["attenuation_limits_db"]
    if limits and not (cfg["validation_speakers"] and cfg["select_by"]):
        raise WavegenError("train.attenuation_limits_db are chosen on validation: they need "
                           "train.validation_speakers > 0 and train.select_by")
    if not all(isinstance(x, (int, float)) and x > 0 for x in limits):
        raise WavegenError(f"train.attenuation_limits_db must be positive numbers of dB, got {limits}")
    if cfg["epochs"] < 1 and cfg["max_steps"] < 1:
        raise WavegenError("train.epochs or train.max_steps must be at least 1")
    if not 0 <= cfg["remix"] <= 1:
        raise WavegenError(f"train.remix must be between 0 and 1, got {cfg['remix']}")
    if len(cfg["remix_gain_db"]) != 2 or cfg["remix_gain_db"][0] > cfg["remix_gain_db"][1]:
        raise WavegenError(f"train.remix_gain_db must be [lower, upper] in dB, got {cfg['remix_gain_db']}")
    if cfg["adversarial_weight"] < 0:
        raise WavegenError(f"train.adversarial_weight must be at least 0, got {cfg['adversarial_weight']}")
    for key in ("stft_weight", "mel_weight"):
        if cfg[key] < 0:
            raise WavegenError(f"train.{key} must be at least 0, got {cfg[key]}")


def check_corpus(root: Path, config: dict) -> None:
    """The layout, and enough training speakers for ``train.validation_speakers`` (before anything is written)."""
    files = check_voicebank_layout(root, config["data"]["trainset"])
    clean = train_folders(config["data"]["trainset"])[0]
    check_speakers(root, training_speakers(name for name, _ in files[clean]), config)


def check_speakers(root: Path, speakers: list[str], config: dict) -> None:
    held_out = config["train"]["validation_speakers"]
    if held_out >= len(speakers):
        clean = train_folders(config["data"]["trainset"])[0]
        raise DatasetError(f"VoiceBank-DEMAND at {root}: {clean} holds {counted(len(speakers), 'speaker')} "
                           f"({', '.join(speakers[:3])}{', ...' if len(speakers) > 3 else ''}); holding out "
                           f"train.validation_speakers={held_out} would leave none to train on; set it to at most "
                           f"{len(speakers) - 1} or use more speakers")


def check_windows(root: Path, manifest: VoiceBankManifest, config: dict) -> None:
    """Before training: the training speakers' pairs cut into at least one batch of windows."""
    training, _ = manifest.split_speakers(config["train"]["validation_speakers"])
    window = config["model"]["window"]
    windows = VoiceBankWindows(manifest, window=window, hop=int(window * config["data"]["hop"]),
                               utterances=training)
    clean = train_folders(config["data"]["trainset"])[0]
    require_batches(len(windows), config["train"]["batch_size"],
                    f"VoiceBank-DEMAND at {root}: the {counted(len(training), 'training pair')} of {clean} "
                    f"{'gives' if len(training) == 1 else 'give'} {counted(len(windows), 'window')} of "
                    f"model.window={window} samples")


def prepare(root: Path, cache_dir: Path, config: dict) -> dict:
    """The corpus resampled once into the cache, then refused unless ``config`` can train on it."""
    cfg = config["data"]
    manifest = prepare_voicebank(root, cache_dir, trainset=cfg["trainset"], sample_rate=cfg["sample_rate"],
                                 progress=wrap_iterable("prepare data"))
    check_speakers(root, training_speakers(manifest.train_names), config)
    check_windows(root, manifest, config)
    digest = hashlib.sha256((cache_dir / "manifest.json").read_bytes()).hexdigest()
    return {"cache_dir": str(cache_dir), "manifest_sha256": digest, "test_clean": str(manifest.test_clean_dir),
            "test_noisy": str(manifest.test_noisy_dir),
            "train_utterances": len(manifest.train_names), "test_utterances": len(manifest.test_names)}


def train(exp: Experiment, data: dict, config: dict, device: torch.device) -> dict:
    cfg = config["train"]
    seed_everything(cfg["seed"])
    model = SEGAN(**config["model"])
    manifest = VoiceBankManifest.load(data["cache_dir"])
    training, validating = manifest.split_speakers(cfg["validation_speakers"])
    windows = VoiceBankWindows(manifest, window=model.window, hop=int(model.window * config["data"]["hop"]),
                               utterances=training)
    reference = draw_reference_batch(windows, min(cfg["reference_batch"], len(windows)), cfg["seed"])
    validation = draw_reference_batch(windows, min(32, len(windows)), cfg["seed"] + 1)
    held_out = UtteranceValidation([manifest.train_pair(i) for i in validating], model.sample_rate,
                                   attenuation_limits_db=cfg["attenuation_limits_db"])
    task = SEGANTask(model, reference, lr=cfg["lr"], l1_weight=cfg["l1_weight"], stft_weight=cfg["stft_weight"],
                     mel_weight=cfg["mel_weight"],
                     remix=cfg["remix"], remix_gain_db=cfg["remix_gain_db"], validation=tuple(validation.unbind(1)),
                     utterance_validation=held_out,
                     step_config=GANStepConfig(objective="least_squares",
                                               adversarial_weight=cfg["adversarial_weight"]))
    max_steps = cfg["max_steps"] or cfg["epochs"] * (len(windows) // cfg["batch_size"])
    trainer = Trainer(task, windows, train_config(cfg, device, max_steps), exp.dir)
    path = trainer.fit()
    header, _ = read_checkpoint(path)
    if dist.rank() == 0:
        noisy = ({f"val_{m}": v for m, v in held_out.noisy_scores().items()} | {"val_min_gain": 0.0}
                 if validating else {})
        plot_evaluations(exp.dir, exp.dir / "metrics" / "validation.png", title="SEGAN validation",
                         baselines=noisy, baseline_label="noisy input")
    return {"checkpoint": str(path), "step": header["step"], "sha256": header["sha256"], "last_step": max_steps,
            "validation_utterances": len(validating)}


def enhance(exp: Experiment, data: dict, cfg: dict, device: torch.device) -> dict:
    model = wavegen.load(exp.dir / "model.safetensors", device=device)
    out = exp.dir / "enhanced"
    with seconds_callback("enhance test set") as progress:
        results = wavegen.enhance_files(model, [Path(data["test_noisy"])], out, device=device,
                                        batch_size=cfg["batch_size"], seed=cfg["seed"], progress=progress,
                                        overwrite=True)    # this stage's own outputs, from an earlier model
    failed = [str(r.error) for r in results if r.error]
    if failed:
        raise WavegenError(f"enhancement failed for {len(failed)} test files: {failed[0]}")
    return {"enhanced_dir": str(out), "files": len(results)}


def score(exp: Experiment, data: dict, name: str, folder: Path) -> dict:
    """Mean metrics of ``folder`` against the clean test set; per-file scores in metrics/NAME.csv."""
    result = evaluate_folders(Path(data["test_clean"]), folder, csv_path=exp.dir / "metrics" / f"{name}.csv",
                              overwrite=True,           # this stage's own output, from an earlier model
                              progress=wrap_iterable(f"evaluate {name}"))
    return result.means


def evaluate(exp: Experiment, data: dict, noisy: dict, trained: dict) -> dict:
    means = {"noisy": noisy, "enhanced": score(exp, data, "enhanced", exp.dir / "enhanced")}
    held_out = trained.get("validation_utterances")
    basis = f"on {held_out} validation utterances of held-out training speakers" if held_out else ""
    table = format_table(means) + "\n" + describe_publication(exp.dir / "model.safetensors", trained.get("last_step"),
                                                              basis)
    limit = wavegen.load(exp.dir / "model.safetensors").attenuation_limit_db
    if limit is not None:
        table += (f"\nattenuation limit: {limit:.3g} dB (the noisy input mixed back at {10 ** (-limit / 20):.3f}), "
                  "the one of train.attenuation_limits_db where val_min_gain was best")
    write_text_atomic(exp.dir / "results.txt", table + "\n")
    return {"means": means, "table": table}


def collect_samples(exp: Experiment, data: dict, cfg: dict) -> dict:
    """Copy the first few test utterances (clean, noisy, enhanced) into the experiment's samples folder."""
    target = exp.dir / "samples"
    shutil.rmtree(target, ignore_errors=True)     # this stage's own output, from an earlier run
    target.mkdir(parents=True)
    names = sorted(p.name for p in Path(data["test_noisy"]).glob("*.wav"))[: cfg["count"]]
    for name in names:
        stem = Path(name).stem
        for kind, folder in (("clean", data["test_clean"]), ("noisy", data["test_noisy"]),
                             ("enhanced", exp.dir / "enhanced")):
            copy_file_atomic(Path(folder) / name, target / f"{stem}_{kind}.wav")
    return {"samples_dir": str(target), "utterances": names}
