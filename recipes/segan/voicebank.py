"""SEGAN speech enhancement (Pascual et al. 2017) on VoiceBank-DEMAND (the paper's setup).

SEGAN on VoiceBank-DEMAND (Pascual et al. 2017), end to end: the paper's configuration.

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

from pathlib import Path

from wavegen.core import distributed as dist
from wavegen.recipes._common import begin
from wavegen.recipes.segan import _stages

CONFIG = {
    "data": {"trainset": "28spk", "sample_rate": 16000, "hop": 0.5},
    "model": _stages.segan_kwargs("paper"),
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
              # CBAK, COVL and SSNR, each over its scale's span (wavegen.audio.selection.min_gain).
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
    config, exp, device, data_root = begin(
        exp_dir, data_root, overrides, base_config, check_config=_stages.check_config, corpus="voicebank",
        make_corpus=make_corpus, check_layout=_stages.check_corpus)
    data = exp.stage("prepare", {"root": str(data_root), **config["data"]},
                     lambda: _stages.prepare(data_root, exp.dir / "data", config), always=True)
    # The noisy input's scores depend on the data alone: computed once, before training.
    noisy = exp.stage("score_noisy", {}, lambda: _stages.score(exp, data, "noisy", Path(data["test_noisy"])))
    trained = exp.stage("train", config["model"] | config["train"], lambda: _stages.train(exp, data, config, device),
                        all_processes=True)
    # Only training is data-parallel; the main process does the rest on its own.
    main_process = dist.rank() == 0
    dist.shutdown()
    if not main_process:
        return ""
    exp.stage("enhance", config["enhance"], lambda: _stages.enhance(exp, data, config["enhance"], device))
    scores = exp.stage("evaluate", noisy, lambda: _stages.evaluate(exp, data, noisy, trained))
    exp.stage("samples", config["samples"], lambda: _stages.collect_samples(exp, data, config["samples"]))
    return scores["table"]
