"""SpecGAN spoken digits (Donahue et al. 2019) on the generated SC09-style demo.

SpecGAN on the generated SC09-style demo corpus: the SC09 recipe, small enough for two CPU cores.

    wavegen recipe specgan --data demo

The spoken-digit corpus is written in the Speech Commands layout as the first
stage; the model is the paper's with model size d = 8 instead of 64, trained
for 1000 generator steps at batch 16. The digit classifier that scores it is
trained first by ``wavegen recipe classifier --data demo`` (beside this
experiment folder) when it is not there yet.
"""

from __future__ import annotations

from pathlib import Path

from wavegen.audio.specgan.model import SPECGAN_CONFIGS, SpecGAN
from wavegen.recipes.specgan import _stages
from wavegen.recipes.specgan import sc09

CONFIG = _stages.gan_demo_config(sc09.CONFIG, SpecGAN, SPECGAN_CONFIGS["small"])


def run(exp_dir: Path, data_root: Path | None, overrides: list[str]) -> str:
    return sc09.run(exp_dir, data_root, overrides, base_config=CONFIG, dataset="demo")
