"""SEGAN on VoiceBank-DEMAND (Pascual et al. 2017), end to end.

    wavegen recipe segan --data voicebank     # from $WAVEGEN_DATA/VoiceBank-DEMAND or ./data/VoiceBank-DEMAND
    wavegen recipe segan --data voicebank --data-root /path/to/VoiceBank-DEMAND

Stages: prepare (16 kHz cache + manifest) → train → enhance the test set →
evaluate noisy and enhanced side by side → a few examples (clean, noisy,
enhanced) into the experiment's samples/ folder (`wavegen publish` copies them on).
The paper trains 86 epochs at batch size 400 with RMSprop 2e-4; on one GPU
that is about a day. The paper reports (noisy → SEGAN) PESQ 1.97 → 2.16,
CSIG 3.35 → 3.48, CBAK 2.44 → 2.94, COVL 2.63 → 2.80, SSNR 1.68 → 7.73 dB.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import torch

from wavegen.recipes._common import begin, check_positive, model_kwargs, train_config
from wavegen.audio.segan.model import SEGAN, SEGAN_CONFIGS
from wavegen.audio.segan.train import SEGANTask, draw_reference_batch
from wavegen.core import distributed as dist
from wavegen.core.checkpoint import read_checkpoint
from wavegen.core.experiment import Experiment, describe_publication, plot_evaluations
from wavegen.core.gan import GANStepConfig
from wavegen.core.trainer import Trainer, seed_everything
from wavegen.errors import WavegenError
from wavegen.progress import seconds_callback, wrap_iterable

def segan_kwargs(preset: str) -> dict:
    """Every SEGAN constructor argument for a named preset, so each can be --set."""
    return model_kwargs(SEGAN, SEGAN_CONFIGS[preset])


CONFIG = {
    "data": {"trainset": "28spk", "sample_rate": 16000, "hop": 0.5},
    "model": segan_kwargs("paper"),
    "train": {"epochs": 86, "max_steps": 0, "batch_size": 400, "lr": 2e-4, "l1_weight": 100.0,
              "reference_batch": 400, "seed": 0, "device": "auto", "checkpoint_every": 500,
              "eval_every": 500, "log_every": 10, "ema_decay": 0.0,
              # Beyond the paper (0 = off): weight of a multi-resolution STFT loss beside the L1, and
              # the share of training pairs re-mixed with another pair's noise at a gain in remix_gain_db.
              "stft_weight": 0.0, "remix": 0.0, "remix_gain_db": [0.0, 0.0],
              # Weight of an L1 loss between log mel-band energies (32 ms frames, 40 bands): the envelope.
              "mel_weight": 0.0,
              # Held-out training speakers whose whole utterances are enhanced and scored (val_pesq,
              # val_stoi, val_csig, ...) at every evaluation; select_by publishes the weights where one
              # of those (or val_snr_db, val_l1) was best, select_mode max|min. "" = the last weights.
              # val_min_gain: the smallest gain over the noisy input among PESQ, STOI, ESTOI, CSIG,
              # CBAK, COVL and SSNR, each over its scale's span (wavegen.audio.metrics.min_gain).
              "validation_speakers": 0, "select_by": "", "select_mode": "max",
              # Attenuation limits (dB) each evaluation tries beside none, keeping the one with the best
              # val_min_gain: the published model mixes that much of the noisy input back into its
              # output (SEGAN.attenuation_limit_db; `wavegen enhance --attenuation-limit` overrides it).
              "attenuation_limits_db": [],
              # Linear learning-rate warm-up over this many steps (0 = the paper's constant rate), and
              # then "constant" (the paper) or "cosine" decay to a tenth of the rate at the last step.
              "warmup_steps": 0, "lr_schedule": "constant",
              # Weight of the generator's adversarial loss beside the L1 (1 = the paper; 0 = regression only).
              "adversarial_weight": 1.0},
    "enhance": {"batch_size": 16, "seed": 0},
    "samples": {"count": 3},
}


def run(exp_dir: Path, data_root: Path | None, overrides: list[str], *, base_config=CONFIG,
        make_corpus=None) -> str:
    """Run every stage (skipping finished ones) and return the results table."""
    from wavegen.data.voicebank import check_voicebank_layout
    config, exp, device, data_root = begin(
        exp_dir, data_root, overrides, base_config, check_config=check_config, corpus="voicebank",
        make_corpus=make_corpus,
        check_layout=lambda root, config: check_voicebank_layout(root, config["data"]["trainset"]))
    data = exp.stage("prepare", {"root": str(data_root), **config["data"]},
                     lambda: prepare(data_root, exp.dir / "data", config["data"]), always=True)
    # The noisy input's scores depend on the data alone: computed once, before training.
    noisy = exp.stage("score_noisy", {}, lambda: score(exp, data, "noisy", Path(data["test_noisy"])))
    trained = exp.stage("train", config["model"] | config["train"], lambda: train(exp, data, config, device),
                        all_processes=True)
    # Only training is data-parallel; the main process does the rest on its own.
    main_process = dist.rank() == 0
    dist.shutdown()
    if not main_process:
        return ""
    exp.stage("enhance", config["enhance"], lambda: enhance(exp, data, config["enhance"], device))
    scores = exp.stage("evaluate", noisy, lambda: evaluate(exp, data, noisy, trained))
    exp.stage("samples", config["samples"], lambda: collect_samples(exp, data, config["samples"]))
    return scores["table"]


def check_config(config: dict) -> None:
    """What can be refused before any work: the model's shape, the training and enhancement settings."""
    SEGAN(**config["model"])
    train_config(config["train"], torch.device("cpu"), max_steps=1)
    check_positive(config, "train.reference_batch", "enhance.batch_size", "samples.count")
    cfg = config["train"]
    names = ["val_l1", "val_snr_db", "val_input_snr_db"]
    if cfg["validation_speakers"] > 0:
        from wavegen.audio.metrics import METRIC_NAMES
        names += [f"val_{m}" for m in (*METRIC_NAMES, "min_gain")]
    if cfg["validation_speakers"] < 0:
        raise WavegenError(f"train.validation_speakers must be at least 0, got {cfg['validation_speakers']}")
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


def prepare(root: Path, cache_dir: Path, cfg: dict) -> dict:
    from wavegen.data.voicebank import prepare_voicebank
    manifest = prepare_voicebank(root, cache_dir, trainset=cfg["trainset"], sample_rate=cfg["sample_rate"],
                                 progress=wrap_iterable("prepare data"))
    digest = hashlib.sha256((cache_dir / "manifest.json").read_bytes()).hexdigest()
    return {"cache_dir": str(cache_dir), "manifest_sha256": digest, "test_clean": str(manifest.test_clean_dir),
            "test_noisy": str(manifest.test_noisy_dir),
            "train_utterances": len(manifest.train_names), "test_utterances": len(manifest.test_names)}


def train(exp: Experiment, data: dict, config: dict, device: torch.device) -> dict:
    from wavegen.data.voicebank import VoiceBankManifest, VoiceBankWindows
    cfg = config["train"]
    seed_everything(cfg["seed"])
    model = SEGAN(**config["model"])
    manifest = VoiceBankManifest.load(data["cache_dir"])
    training, validating = manifest.split_speakers(cfg["validation_speakers"])
    windows = VoiceBankWindows(manifest, window=model.window, hop=int(model.window * config["data"]["hop"]),
                               utterances=training)
    reference = draw_reference_batch(windows, min(cfg["reference_batch"], len(windows)), cfg["seed"])
    validation = draw_reference_batch(windows, min(32, len(windows)), cfg["seed"] + 1)
    task = SEGANTask(model, reference, lr=cfg["lr"], l1_weight=cfg["l1_weight"], stft_weight=cfg["stft_weight"],
                     mel_weight=cfg["mel_weight"],
                     remix=cfg["remix"], remix_gain_db=cfg["remix_gain_db"], validation=tuple(validation.unbind(1)),
                     validation_utterances=[manifest.train_pair(i) for i in validating],
                     attenuation_limits_db=cfg["attenuation_limits_db"],
                     step_config=GANStepConfig(objective="least_squares",
                                               adversarial_weight=cfg["adversarial_weight"]))
    max_steps = cfg["max_steps"] or cfg["epochs"] * (len(windows) // cfg["batch_size"])
    trainer = Trainer(task, windows, train_config(cfg, device, max_steps), exp.dir)
    path = trainer.fit()
    header, _ = read_checkpoint(path)
    if dist.rank() == 0:
        noisy = ({f"val_{m}": v for m, v in task.noisy_validation_scores().items()} | {"val_min_gain": 0.0}
                 if validating else {})
        plot_evaluations(exp.dir, exp.dir / "metrics" / "validation.png", title="SEGAN validation",
                         baselines=noisy, baseline_label="noisy input")
    return {"checkpoint": str(path), "step": header["step"], "sha256": header["sha256"], "last_step": max_steps,
            "validation_utterances": len(validating)}


def enhance(exp: Experiment, data: dict, cfg: dict, device: torch.device) -> dict:
    import wavegen
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
    from wavegen.audio.evaluate import evaluate_folders
    result = evaluate_folders(Path(data["test_clean"]), folder, csv_path=exp.dir / "metrics" / f"{name}.csv",
                              progress=wrap_iterable(f"evaluate {name}"))
    return result.means


def evaluate(exp: Experiment, data: dict, noisy: dict, trained: dict) -> dict:
    import wavegen
    from wavegen.audio.evaluate import format_table
    means = {"noisy": noisy, "enhanced": score(exp, data, "enhanced", exp.dir / "enhanced")}
    held_out = trained.get("validation_utterances")
    basis = f"on {held_out} validation utterances of held-out training speakers" if held_out else ""
    table = format_table(means) + "\n" + describe_publication(exp.dir / "model.safetensors", trained.get("last_step"),
                                                              basis)
    limit = wavegen.load(exp.dir / "model.safetensors").attenuation_limit_db
    if limit is not None:
        table += (f"\nattenuation limit: {limit:.3g} dB (the noisy input mixed back at {10 ** (-limit / 20):.3f}), "
                  "the one of train.attenuation_limits_db where val_min_gain was best")
    (exp.dir / "results.txt").write_text(table + "\n")
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
            shutil.copyfile(Path(folder) / name, target / f"{stem}_{kind}.wav")
    return {"samples_dir": str(target), "utterances": names}
