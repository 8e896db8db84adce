"""What every SC09 recipe (the digit classifier, SpecGAN, WaveGAN) does with the dataset.

Every recipe starts the same way (:func:`start`): the corpus (the real Speech
Commands folder, or the generated demo written as a stage), then ``prepare``
packs the ten digit words into the experiment's ``data/`` cache once. The
recipes read that cache through :func:`manifest`, and score clips beside its
real test clips through a classifier with :func:`write_scores`; that
classifier (the judge) is found and checked before a GAN trains with
:func:`sc09_judge` (:mod:`wavegen.recipes._judge`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import torch

from wavegen.audio.classifier import AudioClassifier
from wavegen.audio.generation import evaluate_generation, format_scores, real_clips
from wavegen.core.experiment import Experiment, apply_overrides
from wavegen.core.files import write_json_atomic, write_text_atomic
from wavegen.data.sc09 import SPLIT_LISTS, SPLITS, SC09Manifest, check_sc09_layout, prepare_sc09
from wavegen.data.sc09_demo import write_sc09_demo
from wavegen.errors import DatasetError
from wavegen.progress import wrap_iterable
from wavegen.recipes import _judge
from wavegen.recipes._common import begin, require_batches
from wavegen.words import counted

DEMO_CORPUS = {"seed": 0, "speakers": 150, "repetitions": 2, "other_words": 4}


def start(exp_dir: Path, data_root: Path | None, overrides: list[str], base_config: dict, check_config,
          before_training: Callable[[dict, dict, torch.device], Any] | None = None,
          ) -> tuple[dict, Experiment, torch.device, dict, Any]:
    """(config, experiment, device, prepared data, what ``before_training`` returned).

    The corpus is found or written and packed once; the splits are checked, and then
    ``before_training(config, data, device)`` (the GANs' judge), both within the
    prepare stage, so that a refusal leaves no config.json behind.
    """
    make_corpus = None
    if "corpus" in base_config:                    # the demo: written as the first stage
        corpus = apply_overrides(base_config, overrides)["corpus"]
        make_corpus = lambda root: write_sc09_demo(data_root or root, **corpus,          # noqa: E731
                                                   progress=wrap_iterable("write demo corpus", unit="speaker"))
    config, exp, device, root = begin(exp_dir, data_root, overrides, base_config, check_config=check_config,
                                      corpus="sc09", make_corpus=make_corpus,
                                      check_layout=lambda root, config: check_splits(root, _counts(root), config))

    checked = []

    def prepare() -> dict:
        manifest = prepare_sc09(root, exp.dir / "data", progress=wrap_iterable("prepare data", unit="clip"))
        check_splits(root, manifest.counts, config)          # a generated corpus is first seen here
        data = {"cache_dir": str(manifest.cache_dir), "root": str(root), "counts": manifest.counts}
        checked.append(before_training(config, data, device) if before_training else None)
        return data

    data = exp.stage("prepare", {"root": str(root)}, prepare, always=True)
    return config, exp, device, data, checked[0] if checked else None      # None where another process ran it


def check_splits(root: Path, counts: dict[str, int], config: dict) -> None:
    """What every SC09 recipe needs of the splits, before training; ``counts`` are digit clips per split.

    Training takes ``train.batch_size`` clips per step (times ``train.d_steps``
    for the GANs' critic updates); the validation split checks training; the
    scores need two real clips of each of the test and the training split.
    """
    for split, least, use in (("test", 2, "the scores compare with at least 2 real test clips"),
                              ("validation", 1, "training is validated on at least 1 clip")):
        if counts[split] < least:
            raise DatasetError(f"SC09 at {root}: {SPLIT_LISTS[split]} puts {counted(counts[split], 'digit clip')} "
                               f"in the {split} split, but {use}; list more digit clips there")
    what = f"SC09 at {root}: the train split (every digit clip in neither list) has {counted(counts['train'], 'clip')}"
    if counts["train"] < 2:
        raise DatasetError(f"{what}, but the scores compare with at least 2 real training clips; use more data")
    batch, steps = config["train"]["batch_size"], config["train"].get("d_steps", 1)
    require_batches(counts["train"], batch * steps, what,
                    f"batch {batch} × {counted(steps, 'critic step')}" if steps > 1 else "")


def _counts(root: Path) -> dict[str, int]:
    clips = check_sc09_layout(root)
    return {split: sum(clip.split == split for clip in clips) for split in SPLITS}


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


# ---------------------------------------------------------------- the judge: the classifier that scores the GANs

def sc09_fingerprint(data: dict) -> str:
    """:func:`~wavegen.recipes._judge.data_fingerprint` of a prepared SC09 cache (its int16 clips, not a float copy)."""
    m = manifest(data)
    splits = {}
    for split in ("train", "validation", "test"):
        rows = m.rows(split)
        splits[split] = (m.packed()[rows.start:rows.stop], m.labels(split))
    return _judge.data_fingerprint(m.words, splits)


def sc09_judge(exp_dir: Path, overrides: list[str], for_classifier: list[str], dataset: str, data: dict,
               evaluate: dict, device: torch.device) -> _judge.Judge:
    """The digit classifier that judges a GAN on this data (``evaluate.classifier``, or the classifier recipe's,
    trained first if missing), checked before training by :func:`~wavegen.recipes._judge.check_judge`."""
    path = _judge.locate_judge(evaluate["classifier"], exp_dir, overrides, for_classifier, dataset, data["root"])
    m = manifest(data)

    def measure(classifier) -> tuple[float, int]:
        audio, labels = real_clips(m, "test")
        probs, _ = classifier.predict(audio)
        return float((probs.argmax(-1) == labels).float().mean()), len(labels)

    def problem(classifier) -> str | None:
        return None if isinstance(classifier, AudioClassifier) else "it does not classify audio clips"

    request = _judge.JudgeRequest(dataset=dataset, root=data["root"], classes=list(m.words),
                                  fingerprint=sc09_fingerprint(data), min_accuracy=evaluate["judge_min_accuracy"],
                                  noun="test clip", measure=measure, problem=problem)
    return _judge.check_judge(path, request, device)
