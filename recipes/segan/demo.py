"""SEGAN speech enhancement (Pascual et al. 2017) on the generated VoiceBank-style demo.

SEGAN on the embedded demo corpus: the VoiceBank-DEMAND recipe, small enough for a laptop CPU.

    wavegen recipe segan --data demo

The corpus is synthesised by ``wavegen.data.demo`` into the VoiceBank-DEMAND
layout at 48 kHz, so this runs exactly the real recipe's stages and reader.
The model is SEGAN's "small" configuration; the whole run takes about a
quarter of an hour on two CPU cores.
"""

from __future__ import annotations

from pathlib import Path

from wavegen.core.experiment import apply_overrides
from wavegen.data.demo import write_voicebank_demo
from wavegen.progress import wrap_iterable
from wavegen.recipes.segan import _stages, voicebank

CONFIG = {
    **voicebank.CONFIG,
    # Size of the synthesised corpus (arguments of wavegen.data.demo.write_voicebank_demo).
    "corpus": {"seed": 0, "train_speakers": 28, "train_utterances_per_speaker": 6,
               "test_speakers": 2, "test_utterances_per_speaker": 10},
    "model": _stages.segan_kwargs("small"),
    # Beyond the paper: weight averaging, a multi-resolution STFT loss beside the L1 (without it the
    # enhanced speech loses STOI to the noisy input), and half of each batch re-mixed with another
    # pair's noise at -10..+5 dB (benchmarks/RESULTS.md, "SEGAN demo on spoken demo speech"); a
    # 100-step learning-rate warm-up (without it RMSprop's first steps can saturate the generator)
    # and a cosine decay after it;
    # the last two training speakers held out, and the published weights those where the smallest
    # gain over the noisy input among the seven reported measures was best; a log mel-band energy
    # loss, and no adversarial term: at this budget both did better on unheard voices
    # (benchmarks/RESULTS.md, "SEGAN, round two"; --set train.adversarial_weight=1 restores it); and
    # an attenuation limit chosen on validation: the published model mixes some of the noisy input
    # back, which hides a briefly trained generator's residual (--set train.attenuation_limits_db=[]
    # publishes the generator alone).
    "train": {**voicebank.CONFIG["train"], "epochs": 0, "max_steps": 2000, "batch_size": 16,
              "reference_batch": 16, "checkpoint_every": 500, "eval_every": 500, "ema_decay": 0.999,
              "stft_weight": 1.0, "remix": 0.5, "remix_gain_db": [-10.0, 5.0], "warmup_steps": 100,
              "lr_schedule": "cosine",
              "validation_speakers": 2, "select_by": "val_min_gain", "mel_weight": 1.0,
              "adversarial_weight": 0.0, "attenuation_limits_db": [20.0, 15.0, 12.0, 10.0, 8.0, 6.0]},
}


def run(exp_dir: Path, data_root: Path | None, overrides: list[str]) -> str:
    corpus = apply_overrides(CONFIG, overrides)["corpus"]
    return voicebank.run(exp_dir, None, overrides, base_config=CONFIG,
                         make_corpus=lambda root: write_voicebank_demo(data_root or root, **corpus,
                                                                       progress=wrap_iterable("write demo corpus")))
