"""The stages every GAN vocoder recipe runs; each dataset file holds only its config.

prepare (resample once, pack, manifest) → train (HiFi-GAN's objective on random
segments) → compare (vocode the test utterances from their own log-mels with
this vocoder and, when ``compare.wavenet`` names a checkpoint, a mel-conditioned
WaveNet: real-time factor, log-mel L1 and mel cepstral distortion to the
originals; results.txt) → samples (originals and vocoded copies into samples/;
`wavegen publish` copies them on).
"""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import torch

import wavegen
from wavegen.audio.features import MelSpec
from wavegen.audio.hifigan.model import HiFiGAN, VOCODER_CONFIGS
from wavegen.audio.hifigan.train import VocoderTask
from wavegen.audio.io import write_audio
from wavegen.audio.vocode import compare_vocoders, comparison_table, ready_to_vocode, summarise
from wavegen.core import distributed as dist
from wavegen.core.checkpoint import read_checkpoint
from wavegen.core.device import seed_everything
from wavegen.core.experiment import Experiment
from wavegen.core.files import copy_file_atomic, write_text_atomic
from wavegen.core.trainer import Trainer
from wavegen.data.corpora import CorpusManifest, WaveformCrops, prepare_corpus
from wavegen.errors import WavegenError
from wavegen.progress import wrap_iterable
from wavegen.recipes._common import (begin, check_positive, check_prepared_utterances, check_utterance_corpus,
                                     model_kwargs, train_config)
from wavegen.words import counted


def vocoder_kwargs(preset: str) -> dict:
    """Every HiFiGAN constructor argument for a named preset (the rate comes from ``data``), so each can be --set."""
    kwargs = model_kwargs(HiFiGAN, VOCODER_CONFIGS[preset], skip=("sample_rate",))
    return {k: [list(v) if isinstance(v, tuple) else v for v in value] if isinstance(value, list) else value
            for k, value in kwargs.items()}


# HiFi-GAN's training settings (Kong et al. 2020, §3 and the released V1 config): batch 16 of
# 8192-sample segments, AdamW 2e-4, β = (0.8, 0.99), weight decay 0.01, lr × 0.999 per epoch
# (an LJSpeech epoch is ~810 steps at batch 16), λ_fm = 2, λ_mel = 45, mel loss up to Nyquist.
TRAIN = {"max_steps": 2_500_000, "batch_size": 16, "segment_samples": 8192, "crop_hop": 256, "lr": 2e-4,
         "betas": [0.8, 0.99], "weight_decay": 0.01, "lr_decay": 0.999, "lr_decay_steps": 810,
         "fm_weight": 2.0, "mel_weight": 45.0, "loss_fmax": None, "validation_crops": 16, "seed": 0,
         "device": "auto", "checkpoint_every": 5000, "eval_every": 5000, "log_every": 100, "ema_decay": 0.0}


def run(exp_dir: Path, data_root: Path | None, overrides: list[str], *, base_config: dict,
        make_corpus=None) -> str:
    """Run every stage (skipping finished ones) and return the comparison table."""
    config, exp, device, data_root = begin(exp_dir, data_root, overrides, base_config, check_config=check_config,
                                           corpus="ljspeech", make_corpus=make_corpus,
                                           check_layout=lambda root, config: check_utterance_corpus("ljspeech", root,
                                                                                                    config))
    data = exp.stage("prepare", {"root": str(data_root), **config["data"]},
                     lambda: prepare(data_root, exp.dir / "data", config), always=True)
    exp.stage("train", {k: config[k] for k in ("data", "model", "train")},
              lambda: train(exp, data, config, device), all_processes=True)
    main_process = dist.rank() == 0
    dist.shutdown()
    if not main_process:
        return ""
    wavenet = config["compare"]["wavenet"]
    compared = exp.stage("compare", {**config["compare"], "wavenet_sha256": _sha256(wavenet) if wavenet else ""},
                         lambda: compare(exp, data, config, device))
    samples = exp.stage("samples", config["samples"], lambda: write_samples(exp, data, config, compared))
    return compared["table"] + "\n" + f"wrote {counted(len(samples['files']), 'file')} into {exp.dir / 'samples'}"


def check_config(config: dict) -> None:
    """What can be refused before any work: the model's shape, training, comparison and samples settings."""
    build_model(config)
    train_config(config["train"], torch.device("cpu"))
    check_positive(config, "train.segment_samples", "train.crop_hop", "train.lr_decay_steps",
                   "train.validation_crops", "compare.utterances", "samples.utterances",
                   "data.test_utterances")          # validation crops and the comparison come from them
    cfg, model = config["train"], config["model"]
    if cfg["segment_samples"] % model["hop"] or cfg["segment_samples"] < model["n_fft"]:
        raise WavegenError(f"train.segment_samples={cfg['segment_samples']} must be a multiple of the hop "
                           f"({model['hop']}) and at least n_fft ({model['n_fft']})")
    if not 0 < cfg["lr_decay"] <= 1:
        raise WavegenError(f"train.lr_decay must be in (0, 1], got {cfg['lr_decay']}")
    if cfg["loss_fmax"] is not None and not (isinstance(cfg["loss_fmax"], (int, float))
                                             and 0 < cfg["loss_fmax"] <= config["data"]["sample_rate"] / 2):
        raise WavegenError(f"train.loss_fmax must be null (Nyquist) or a frequency up to half the sample rate, "
                           f"got {cfg['loss_fmax']!r}")
    if config["compare"]["wavenet"]:
        check_wavenet(Path(config["compare"]["wavenet"]), config)


def check_wavenet(path: Path, config: dict) -> None:
    """``compare.wavenet`` must be a mel-conditioned WaveNet on exactly this recipe's features."""
    import math

    with torch.device("cpu"):                     # the config checks run under the meta device
        header, _ = read_checkpoint(path)
    c = header["config"]
    if header["model"] != "wavenet" or not c.get("mel_channels"):
        raise WavegenError(f"compare.wavenet={path}: not a mel-conditioned WaveNet (a {header['model']} checkpoint)")
    theirs = MelSpec(c["sample_rate"], c["n_fft"], math.prod(c["upsample_scales"]), c["mel_channels"], c["fmin"],
                     c["fmax"])
    m = config["model"]
    ours = MelSpec(config["data"]["sample_rate"], m["n_fft"], m["hop"], m["n_mels"], m["fmin"], m["fmax"])
    if theirs != ours:
        raise WavegenError(f"compare.wavenet={path}: its features {theirs} differ from this vocoder's {ours}")


def _sha256(path: str) -> str:
    return read_checkpoint(path, verify=False)[0].get("sha256", "")


def build_model(config: dict) -> HiFiGAN:
    return HiFiGAN(**config["model"], sample_rate=config["data"]["sample_rate"])


def prepare(root: Path, cache_dir: Path, config: dict) -> dict:
    """The corpus packed at the model's rate, then refused unless it can train and be compared with ``config``."""
    cfg, n_fft = config["data"], config["model"]["n_fft"]
    check_utterance_corpus("ljspeech", root, config)            # a generated corpus is first seen here
    manifest = prepare_corpus("ljspeech", root, cache_dir, sample_rate=cfg["sample_rate"],
                              test_utterances=cfg["test_utterances"], seed=cfg.get("seed", 0),
                              progress=wrap_iterable("prepare data"))
    check_prepared_utterances("ljspeech", root, manifest, config, crop=config["train"]["segment_samples"],
                              hop=config["train"]["crop_hop"], crop_key="train.segment_samples",
                              shortest_test=n_fft // 2 + 1, test_use=f"a log-mel spectrogram (model.n_fft={n_fft})")
    return {"cache_dir": str(cache_dir), "train_utterances": len(manifest.names("train")),
            "test_utterances": len(manifest.names("test"))}


def train(exp: Experiment, data: dict, config: dict, device: torch.device) -> dict:
    cfg = config["train"]
    seed_everything(cfg["seed"])
    model = build_model(config)
    manifest = CorpusManifest.load(data["cache_dir"])
    # Overlapping crops every crop_hop samples, shuffled by the trainer: random segments, reproducibly.
    segments = WaveformCrops(manifest, "train", cfg["segment_samples"], cfg["crop_hop"])
    held_out = WaveformCrops(manifest, "test", cfg["segment_samples"], cfg["segment_samples"])
    picks = torch.linspace(0, len(held_out) - 1, min(cfg["validation_crops"], len(held_out))).round().long()
    validation = torch.stack([held_out[int(i)][0] for i in picks.unique()])
    task = VocoderTask(model, lr=cfg["lr"], betas=tuple(cfg["betas"]), weight_decay=cfg["weight_decay"],
                       lr_decay=cfg["lr_decay"], lr_decay_steps=cfg["lr_decay_steps"], fm_weight=cfg["fm_weight"],
                       mel_weight=cfg["mel_weight"], loss_fmax=cfg["loss_fmax"], validation=validation)
    path = Trainer(task, segments, train_config(cfg, device), exp.dir).fit()
    header, _ = read_checkpoint(path)
    return {"checkpoint": str(path), "step": header["step"], "sha256": header["sha256"]}


def compare(exp: Experiment, data: dict, config: dict, device: torch.device) -> dict:
    """Vocode the first ``compare.utterances`` test utterances with each vocoder; table in results.txt."""
    cfg = config["compare"]
    manifest = CorpusManifest.load(data["cache_dir"])
    names = manifest.names("test")[:cfg["utterances"]]
    vocoders = {"hifigan": ready_to_vocode(wavegen.load(exp.dir / "model.safetensors", device=device))}
    if cfg["wavenet"]:
        check_wavenet(Path(cfg["wavenet"]), config)
        vocoders["wavenet"] = ready_to_vocode(wavegen.load(cfg["wavenet"], device=device), cfg["wavenet"])
    out = exp.dir / "vocoded"
    shutil.rmtree(out, ignore_errors=True)        # this stage's own output, from an earlier model or config
    bar = wrap_iterable("vocode", unit="utterance")(range(len(names) * len(vocoders)))
    ticks = iter(bar)
    results = compare_vocoders(vocoders, [(name, manifest.audio(name)) for name in names], out_dir=out,
                               progress=lambda vocoder, utterance: next(ticks, None))
    bar.close()
    table = comparison_table(results, device=str(device))
    write_text_atomic(exp.dir / "results.txt", table + "\n")
    rows = io.StringIO()
    writer = csv.writer(rows)
    writer.writerow(["vocoder", "utterance", "seconds", "wall_seconds", "real_time_factor", "mel_l1", "mcd_db"])
    for r in results:
        writer.writerow([r.vocoder, r.utterance, f"{r.seconds:.3f}", f"{r.wall_seconds:.4f}",
                         f"{r.real_time_factor:.3f}", f"{r.mel_l1:.4f}", f"{r.mcd_db:.3f}"])
    write_text_atomic(exp.dir / "metrics" / "compare.csv", rows.getvalue())
    return {"table": table, "summary": summarise(results), "vocoders": list(vocoders), "utterances": names}


def write_samples(exp: Experiment, data: dict, config: dict, compared: dict) -> dict:
    """Each of the first ``samples.utterances`` compared utterances: the original and every vocoder's copy."""
    manifest = CorpusManifest.load(data["cache_dir"])
    out = exp.dir / "samples"
    shutil.rmtree(out, ignore_errors=True)        # this stage's own output
    written = []
    for name in compared["utterances"][:config["samples"]["utterances"]]:
        stem = Path(name).name
        written.append(write_audio(out / f"{stem}-original.wav", manifest.audio(name), manifest.sample_rate))
        for vocoder in compared["vocoders"]:
            target = out / f"{stem}-{vocoder}.wav"
            written.append(copy_file_atomic(exp.dir / "vocoded" / vocoder / f"{stem}.wav", target))
    return {"files": [str(p) for p in written]}
