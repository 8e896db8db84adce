"""What every SC09 recipe (the digit classifier, SpecGAN, WaveGAN) does with the dataset.

Every recipe starts the same way (:func:`start`): the corpus (the real Speech
Commands folder, or the generated demo written as a stage), then ``prepare``
packs the ten digit words into the experiment's ``data/`` cache once. The
recipes read that cache through :func:`manifest`, and score clips beside its
real test clips through a classifier with :func:`write_scores`.
"""

from __future__ import annotations

from pathlib import Path

import torch

from wavegen.audio.generation import evaluate_generation, format_scores, real_clips
from wavegen.core.experiment import Experiment, apply_overrides
from wavegen.core.files import write_json_atomic, write_text_atomic
from wavegen.data.sc09 import SC09Manifest, check_sc09_layout, prepare_sc09
from wavegen.data.sc09_demo import write_sc09_demo
from wavegen.progress import wrap_iterable
from wavegen.recipes._common import begin

DEMO_CORPUS = {"seed": 0, "speakers": 150, "repetitions": 2, "other_words": 4}


def start(exp_dir: Path, data_root: Path | None, overrides: list[str], base_config: dict, check_config,
          ) -> tuple[dict, Experiment, torch.device, dict]:
    """(config, experiment, device, prepared data): the corpus found or written, packed once."""
    make_corpus = None
    if "corpus" in base_config:                    # the demo: written as the first stage
        corpus = apply_overrides(base_config, overrides)["corpus"]
        make_corpus = lambda root: write_sc09_demo(data_root or root, **corpus,          # noqa: E731
                                                   progress=wrap_iterable("write demo corpus", unit="speaker"))
    config, exp, device, root = begin(exp_dir, data_root, overrides, base_config, check_config=check_config,
                                      corpus="sc09", make_corpus=make_corpus,
                                      check_layout=lambda root, config: check_sc09_layout(root))

    def prepare() -> dict:
        manifest = prepare_sc09(root, exp.dir / "data", progress=wrap_iterable("prepare data", unit="clip"))
        return {"cache_dir": str(manifest.cache_dir), "root": str(root), "counts": manifest.counts}

    data = exp.stage("prepare", {"root": str(root)}, prepare, always=True)
    return config, exp, device, data


def manifest(data: dict):
    return SC09Manifest.load(data["cache_dir"])


def validation_batch(data: dict, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` validation clips and labels (all, if fewer), a seeded draw across the classes.

    The cache holds each split sorted by label, so the first clips would all be "zero"s.
    """
    m = manifest(data)
    rows = torch.randperm(m.counts["validation"], generator=torch.Generator().manual_seed(0))[:count].sort().values
    return torch.from_numpy(m.audio("validation")[rows.numpy()]), torch.from_numpy(m.labels("validation")[rows.numpy()])


def write_scores(exp: Experiment, data: dict, generators: dict, classifier, cfg: dict) -> dict:
    """Score ``generators`` ({name: draw(count, seed)}) beside the real test and training clips.

    The rows go to ``scores.json`` and the table to ``results.txt`` in the experiment folder.
    """
    m = manifest(data)
    rows = evaluate_generation(generators, classifier, real_clips(m, "test"), real_clips(m, "train"),
                               count=cfg["count"], seed=cfg.get("seed", 0), splits=cfg["splits"])
    table = format_scores(rows)
    write_json_atomic(exp.dir / "scores.json", rows)
    write_text_atomic(exp.dir / "results.txt", table + "\n")
    return {"rows": rows, "table": table}
