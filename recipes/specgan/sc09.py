"""SpecGAN spoken digits (Donahue et al. 2019) on SC09.

SpecGAN on SC09 (Donahue, McAuley and Puckette 2019): spectrograms inverted by Griffin-Lim (16 iterations).

    wavegen recipe specgan --data sc09       # from $WAVEGEN_DATA/speech_commands_v0.02 or ./data/...
    wavegen recipe specgan --data sc09 --data-root /path/to/speech_commands_v0.02 --device cuda

Stages: prepare → train (WGAN-GP, λ = 10, five critic updates on fresh real
minibatches per generator update, Adam 1e-4, β = (0.5, 0.9), batch 64) →
evaluate (inception score, Fréchet distance and nearest-neighbour distances of
generated clips beside real test clips, through the digit classifier of
``wavegen recipe classifier``, trained first when ``evaluate.classifier`` is
empty) → sample (clips and a spectrogram grid into samples/). The paper
reports inception scores of 9.18 (real training data), 4.12 ± 0.03 (WaveGAN),
4.67 ± 0.01 (WaveGAN with phase shuffle) and 6.03 ± 0.04 (SpecGAN).
"""

from __future__ import annotations

from pathlib import Path

from wavegen.audio.specgan.model import SPECGAN_CONFIGS, SpecGAN
from wavegen.recipes.specgan import _stages

CONFIG = _stages.gan_config(SpecGAN, SPECGAN_CONFIGS["paper"])


def run(exp_dir: Path, data_root: Path | None, overrides: list[str], *, base_config: dict = CONFIG,
        dataset: str = "sc09") -> str:
    return _stages.run_gan(exp_dir, data_root, overrides, base_config=base_config, model_class=SpecGAN,
                         dataset=dataset)
