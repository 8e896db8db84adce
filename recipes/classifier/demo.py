"""Spoken-digit classifier (the SC09 GANs' judge) on the generated SC09-style demo.

The digit classifier on the generated SC09-style demo corpus (real spoken digits, many voices).

    wavegen recipe classifier --data demo

The corpus (``wavegen.data.sc09_demo``) is written in the Speech Commands
layout as the first stage and read by the real SC09 reader; the classifier
trains for a few minutes on two CPU cores.
"""

from __future__ import annotations

from pathlib import Path

from wavegen.recipes import _sc09
from wavegen.recipes.classifier import sc09

CONFIG = {
    **sc09.CONFIG,
    "corpus": dict(_sc09.DEMO_CORPUS),
    "train": {**sc09.CONFIG["train"], "max_steps": 600, "checkpoint_every": 200, "eval_every": 200,
              "log_every": 20},
}


def run(exp_dir: Path, data_root: Path | None, overrides: list[str]) -> str:
    return sc09.run(exp_dir, data_root, overrides, base_config=CONFIG)
