"""The stages every WaveNet recipe runs; each dataset file holds only its config.

prepare (resample once, pack, manifest) → train → evaluate (test NLL against
the unigram μ-law baseline) → sample (through the fused path) into the
experiment's samples/ folder (`wavegen publish` copies them on).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import torch

import wavegen
from wavegen.audio.io import write_audio
from wavegen.audio.wavenet.generate import SampleRequest, write_samples
from wavegen.audio.wavenet.model import WAVENET_CONFIGS, WaveNet
from wavegen.audio.wavenet.train import WaveNetTask, test_likelihood
from wavegen.core import distributed as dist
from wavegen.core.checkpoint import read_checkpoint
from wavegen.core.device import seed_everything
from wavegen.core.experiment import Experiment
from wavegen.core.files import write_text_atomic
from wavegen.core.trainer import Trainer, stack_examples
from wavegen.data.corpora import CorpusManifest, WaveformCrops, prepare_corpus
from wavegen.errors import WavegenError
from wavegen.progress import wrap_iterable
from wavegen.recipes._common import (begin, check_positive, check_prepared_utterances, check_utterance_corpus,
                                     model_kwargs, train_config)
from wavegen.words import counted

CONDITIONING = ("none", "speaker", "mel")


def wavenet_kwargs(preset: str, **extra) -> dict:
    """Every WaveNet constructor argument for a named preset, so each can be --set."""
    return model_kwargs(WaveNet, WAVENET_CONFIGS[preset], skip=("speaker_names",), **extra)


TRAIN = {"max_steps": 200_000, "batch_size": 8, "crop_samples": 8000, "lr": 1e-3, "grad_clip": 1.0, "seed": 0,
         "device": "auto", "checkpoint_every": 5000, "eval_every": 1000, "log_every": 50, "ema_decay": 0.0}


def run(exp_dir: Path, data_root: Path | None, overrides: list[str], *, base_config: dict,
        make_corpus=None) -> str:
    """Run every stage (skipping finished ones) and return the results table."""
    kind = base_config["data"]["kind"]
    config, exp, device, data_root = begin(exp_dir, data_root, overrides, base_config, check_config=check_config,
                                           corpus=kind,
                                           make_corpus=make_corpus,
                                           check_layout=lambda root, config: check_utterance_corpus(kind, root, config))
    data = exp.stage("prepare", {"root": str(data_root), **config["data"]},
                     lambda: prepare(data_root, exp.dir / "data", config), always=True)
    exp.stage("train", {k: config[k] for k in ("data", "model", "train", "conditioning")},
              lambda: train(exp, data, config, device), all_processes=True)
    main_process = dist.rank() == 0
    dist.shutdown()
    if not main_process:
        return ""
    scores = exp.stage("evaluate", config["evaluate"], lambda: evaluate(exp, data, config, device))
    sampled = exp.stage("sample", config["sample"], lambda: sample(exp, data, config, device))
    return scores["table"] + "\n" + sampled["summary"]


def check_config(config: dict) -> None:
    """What can be refused before any work: the model's shape, training, evaluation and sampling settings."""
    if config["conditioning"] not in CONDITIONING:
        raise WavegenError(f"conditioning={config['conditioning']!r}: expected one of {', '.join(CONDITIONING)}")
    build_model(config, {"speakers": ["speaker"]})
    train_config(config["train"], torch.device("cpu"))
    check_positive(config, "train.crop_samples", "evaluate.crop_samples", "evaluate.batch_size",
                   "evaluate.max_batches", "sample.count", "sample.speakers",
                   "data.test_utterances")          # the evaluate stage scores them, training validates on them
    if config["sample"]["seconds"] is not None and not config["sample"]["seconds"] > 0:
        raise WavegenError(f"sample.seconds must be positive, got {config['sample']['seconds']}")


def prepare(root: Path, cache_dir: Path, config: dict) -> dict:
    """The corpus packed at the model's rate, then refused unless it can train and be scored with ``config``."""
    cfg = config["data"]
    check_utterance_corpus(cfg["kind"], root, config)           # a generated corpus is first seen here
    manifest = prepare_corpus(cfg["kind"], root, cache_dir, sample_rate=cfg["sample_rate"],
                              test_utterances=cfg["test_utterances"], seed=cfg.get("seed", 0),
                              progress=wrap_iterable("prepare data"))
    mel = config["conditioning"] == "mel"
    check_prepared_utterances(cfg["kind"], root, manifest, config, crop=config["train"]["crop_samples"],
                              hop=config["train"]["crop_samples"], crop_key="train.crop_samples",
                              shortest_test=config["model"]["n_fft"] // 2 + 1 if mel else 0,
                              test_use=f"a log-mel spectrogram (model.n_fft={config['model']['n_fft']})")
    return {"cache_dir": str(cache_dir), "speakers": manifest.speakers,
            "train_utterances": len(manifest.names("train")), "test_utterances": len(manifest.names("test"))}


def build_model(config: dict, data: dict) -> WaveNet:
    kwargs = dict(config["model"], sample_rate=config["data"]["sample_rate"])
    if config["conditioning"] == "speaker":
        kwargs.update(speakers=0, speaker_names=data["speakers"])
    else:
        kwargs["speakers"] = 0
    if config["conditioning"] != "mel":
        kwargs["mel_channels"] = 0
    elif not kwargs["mel_channels"]:
        raise WavegenError("conditioning=mel needs model.mel_channels > 0")
    return WaveNet(**kwargs)


def _crops(data: dict, split: str, crop: int):
    return WaveformCrops(CorpusManifest.load(data["cache_dir"]), split, crop, crop)


def _batches(dataset, batch_size: int, limit: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    indices = list(range(min(len(dataset), limit * batch_size)))
    return [stack_examples([dataset[i] for i in indices[s:s + batch_size]])
            for s in range(0, len(indices), batch_size)]


def train(exp: Experiment, data: dict, config: dict, device: torch.device) -> dict:
    cfg = config["train"]
    seed_everything(cfg["seed"])
    model = build_model(config, data)
    windows = _crops(data, "train", cfg["crop_samples"])
    validation = _batches(_crops(data, "test", cfg["crop_samples"]), cfg["batch_size"], 4)
    task = WaveNetTask(model, lr=cfg["lr"], grad_clip=cfg["grad_clip"], validation=validation)
    trainer = Trainer(task, windows, train_config(cfg, device), exp.dir)
    path = trainer.fit()
    header, _ = read_checkpoint(path)
    return {"checkpoint": str(path), "step": header["step"], "sha256": header["sha256"]}


def evaluate(exp: Experiment, data: dict, config: dict, device: torch.device) -> dict:
    """Test NLL in bits per sample, beside the unigram μ-law baseline fitted on the training set."""
    cfg = config["evaluate"]
    model = wavegen.load(exp.dir / "model.safetensors", device=device)
    test = _batches(_crops(data, "test", cfg["crop_samples"]), cfg["batch_size"], cfg["max_batches"])
    train_audio = torch.cat([audio.reshape(-1) for audio, _ in
                             _batches(_crops(data, "train", cfg["crop_samples"]), cfg["batch_size"],
                                      cfg["max_batches"])])
    bits = test_likelihood(model, test, train_audio)
    rows = [("WaveNet (test, teacher forcing)", bits["model_bits"])]
    if "unigram_bits" in bits:
        rows.insert(0, ("unigram mu-law (train frequencies)", bits["unigram_bits"]))
    width = max(len(name) for name, _ in rows)
    table = "\n".join([f"{'model':<{width}}  bits/sample", *(f"{name:<{width}}  {value:11.3f}" for name, value in rows)])
    write_text_atomic(exp.dir / "results.txt", table + "\n")
    return {**bits, "table": table}


def sample(exp: Experiment, data: dict, config: dict, device: torch.device) -> dict:
    """Generate from the trained model: per speaker, or vocoding the first test utterances."""
    cfg = config["sample"]
    model = wavegen.load(exp.dir / "model.safetensors", device=device)
    out = exp.dir / "samples"
    shutil.rmtree(out, ignore_errors=True)        # this stage's own output, from an earlier model or config
    written = []
    base = dict(count=cfg["count"], seconds=cfg["seconds"], seed=cfg["seed"], temperature=cfg["temperature"],
                path=cfg["path"])
    if config["conditioning"] == "speaker":
        for name in data["speakers"][:cfg["speakers"]]:
            paths = write_samples(model, out, SampleRequest(**base, speaker=name))
            written += [str(p) for p in paths]
    elif config["conditioning"] == "mel":
        manifest = CorpusManifest.load(data["cache_dir"])
        for name in manifest.names("test")[:cfg["speakers"]]:
            source = out / "sources" / f"{Path(name).name}.wav"
            write_audio(source, manifest.audio(name), manifest.sample_rate)
            request = SampleRequest(**{**base, "seconds": None}, mel_from=source)   # the whole utterance
            written += [str(p) for p in write_samples(model, out, request)]
    else:
        written += [str(p) for p in write_samples(model, out, SampleRequest(**base))]
    return {"files": written, "summary": describe_audio(written)}


def describe_audio(paths: list[str]) -> str:
    """One line on the generated files: is the audio there (RMS), and is it clipped (peak, share at ±1)?"""
    import numpy as np
    import soundfile as sf
    audio = np.concatenate([sf.read(p, dtype="float32")[0].reshape(-1) for p in paths])
    rms_db = 20 * np.log10(max(float(np.sqrt(np.mean(audio ** 2))), 1e-10))
    clipped = float(np.mean(np.abs(audio) >= 0.999))
    return (f"generated {counted(len(paths), 'file')}, {len(audio)} samples: RMS {rms_db:.1f} dBFS, "
            f"peak {float(np.abs(audio).max()):.3f}, {100 * clipped:.2f}% of samples at full scale")
