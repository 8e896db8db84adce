"""Speaker-conditioned WaveNet on the generated VCTK-style demo speakers.

WaveNet on the generated demo corpus: the VCTK recipe, small enough for a laptop CPU.

    wavegen recipe wavenet --data demo

Four synthetic speakers are written in the VCTK 0.92 layout by
``wavegen.data.demo.write_vctk_demo`` and read by the real VCTK reader; a
small speaker-conditioned WaveNet (10 layers, R=32, receptive field 64 ms)
trains for 2000 steps (about 10 minutes on two CPU cores), is scored against
the unigram μ-law baseline, and samples two seconds per speaker.
"""

from __future__ import annotations

from pathlib import Path

from wavegen.core.experiment import apply_overrides
from wavegen.data.demo import write_vctk_demo
from wavegen.progress import wrap_iterable
from wavegen.recipes.wavenet import _stages, vctk

CONFIG = {
    **vctk.CONFIG,
    "corpus": {"seed": 0, "speakers": 4, "utterances_per_speaker": 12},
    "data": {**vctk.CONFIG["data"], "test_utterances": 8},
    "model": _stages.wavenet_kwargs("demo"),
    "train": {**_stages.TRAIN, "max_steps": 2000, "batch_size": 8, "crop_samples": 4000, "lr": 2e-3,
              "checkpoint_every": 500, "eval_every": 500, "log_every": 20},
    "evaluate": {"crop_samples": 8000, "batch_size": 8, "max_batches": 8},
    "sample": {**vctk.CONFIG["sample"], "seconds": 2.0},
}


def run(exp_dir: Path, data_root: Path | None, overrides: list[str]) -> str:
    corpus = apply_overrides(CONFIG, overrides)["corpus"]
    return _stages.run(exp_dir, None, overrides, base_config=CONFIG,
                       make_corpus=lambda root: write_vctk_demo(data_root or root, **corpus,
                                                               progress=wrap_iterable("write demo corpus")))
