"""HiFi-GAN vocoder (Kong et al. 2020) on the generated LJSpeech-style demo.

GAN vocoder on the generated LJSpeech-layout demo corpus: the LJSpeech recipe, small enough for a CPU.

    wavegen recipe hifigan --data demo

One synthetic speaker is written in the LJSpeech-1.1 layout by
``wavegen.data.demo.write_ljspeech_demo`` and read by the real LJSpeech reader;
the "small" vocoder (V3's shape at half width, 0.40 M generator parameters, ~90x
real time on two CPU cores; discriminators a quarter as wide as the paper's)
trains 1000 steps of 8 x 8192 samples (0.6-0.8 s a step on two cores: about ten
minutes), then vocodes the held-out utterances (set ``compare.wavenet`` to a
mel-conditioned WaveNet checkpoint on the same features to compare the two).
A short run gets the spectral envelope and timing first (400 steps: validation
log-mel L1 0.83 nats, STOI 0.69, still noise-excited, no harmonics yet); HiFi-GAN's
periodic detail needs many more steps.
"""

from __future__ import annotations

from pathlib import Path

from wavegen.core.experiment import apply_overrides
from wavegen.data.demo import write_ljspeech_demo
from wavegen.progress import wrap_iterable
from wavegen.recipes.hifigan import _stages, ljspeech

CONFIG = {
    **ljspeech.CONFIG,
    # Arguments of wavegen.data.demo.write_ljspeech_demo.
    "corpus": {"seed": 0, "utterances": 100},
    "data": {**ljspeech.CONFIG["data"], "test_utterances": 4},
    "model": _stages.vocoder_kwargs("small"),
    "train": {**_stages.TRAIN, "max_steps": 1000, "batch_size": 8, "lr": 2e-4, "lr_decay_steps": 100,
              "validation_crops": 8, "checkpoint_every": 250, "eval_every": 250, "log_every": 10},
    "compare": {"utterances": 4, "wavenet": ""},
    "samples": {"utterances": 4},
}


def run(exp_dir: Path, data_root: Path | None, overrides: list[str]) -> str:
    corpus = apply_overrides(CONFIG, overrides)["corpus"]
    return _stages.run(exp_dir, None, overrides, base_config=CONFIG,
                       make_corpus=lambda root: write_ljspeech_demo(data_root or root, **corpus,
                                                                   progress=wrap_iterable("write demo corpus")))
