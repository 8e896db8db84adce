"""The judge of a generator recipe: the classifier that scores its samples, checked before anything trains.

The image generators (cvae, dcgan, cgan, pixelcnn) and the SC09 GANs (specgan,
wavegan) score their samples through a classifier: the checkpoint in
``evaluate.classifier``, or by default the classifier recipe's model in
``<exp parent>/classifier-<data>``, trained there first when it is missing
(:func:`locate_judge`). Before the generator trains, :func:`check_judge`
refuses, in one line that gives the command to retrain it, a judge that

- knows other classes than the data's, or cannot take its examples;
- was trained on other data: the classifier recipe records a fingerprint of its
  prepared data (:func:`data_fingerprint`) in ``judge.json`` beside its model
  (:func:`write_record`), and the generator recipe compares it with its own;
- falls short, in test accuracy, of ``evaluate.judge_min_accuracy``
  (:data:`MIN_ACCURACY`, 0.5 by default: five times chance for ten classes,
  and what a 2-step classifier never reaches) or of doing better than chance
  (one in the number of classes; for two classes 0.5 is chance). 0 turns the
  check off.

A classifier without a record (trained before wavegen kept one, or elsewhere)
is not refused: a warning says that its data cannot be compared, and its test
accuracy is measured on this run's test split instead. The judge's path and
accuracy go into the results (:meth:`Judge.line`).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

import wavegen
from wavegen.core import distributed as dist
from wavegen.core.capabilities import Classifier, require
from wavegen.core.checkpoint import read_checkpoint
from wavegen.core.files import write_json_atomic
from wavegen.errors import WavegenError
from wavegen.words import counted

log = logging.getLogger(__name__)

RECORD = "judge.json"          # beside the classifier's model.safetensors
MIN_ACCURACY = 0.5             # evaluate.judge_min_accuracy's default
SAMPLED = 256                  # examples per split that the data fingerprint reads


# ---------------------------------------------------------------- what the classifier recipe records

def data_fingerprint(classes, splits: dict[str, tuple[np.ndarray, np.ndarray]]) -> str:
    """A fingerprint of prepared data: its classes, each split's shape and labels, and a sample of its examples.

    ``splits`` maps a split's name to (examples (N, ...), labels (N,)). Every label
    is read, and :data:`SAMPLED` examples spread evenly over each split, so the
    fingerprint costs little for any size of data and stays the same when the
    dataset moves to another folder.
    """
    digest = hashlib.sha256(json.dumps([str(c) for c in classes]).encode())
    for name in sorted(splits):
        examples, labels = splits[name]
        rows = np.unique(np.linspace(0, len(examples) - 1, num=min(SAMPLED, len(examples))).round().astype(np.int64))
        digest.update(json.dumps([name, list(examples.shape), str(examples.dtype)]).encode())
        digest.update(np.ascontiguousarray(labels, dtype=np.int64).tobytes())
        digest.update(np.ascontiguousarray(examples[rows]).tobytes())
    return digest.hexdigest()[:16]


def write_record(exp_dir: Path, *, dataset: str, root: str | Path, classes, fingerprint: str, accuracy: float,
                 count: int, noun: str) -> Path:
    """``judge.json`` beside the classifier recipe's model: what it was trained on and its test accuracy."""
    exp_dir = Path(exp_dir)
    record = {"checkpoint_sha256": _digest(exp_dir / "model.safetensors"), "dataset": dataset,
              "root": str(Path(root).resolve()),
              "classes": [str(c) for c in classes], "data_fingerprint": fingerprint,
              "test_accuracy": float(accuracy), "test_count": int(count), "noun": noun}
    write_json_atomic(exp_dir / RECORD, record)
    return exp_dir / RECORD


def read_record(path: str | Path) -> dict | None:
    """The record of the classifier at ``path``; None when there is none, or it describes another checkpoint."""
    record_path = Path(path).with_name(RECORD)
    try:
        record = json.loads(record_path.read_text())
    except (OSError, ValueError):
        return None
    keys = ("checkpoint_sha256", "data_fingerprint", "test_accuracy", "test_count", "root")
    if not isinstance(record, dict) or any(k not in record for k in keys):
        return None
    return record if record["checkpoint_sha256"] == _digest(path) else None


def _digest(path: str | Path) -> str:
    return read_checkpoint(path, verify=False)[0]["sha256"]


# ---------------------------------------------------------------- what a generator recipe checks

@dataclass(frozen=True)
class Judge:
    """The classifier that judges a run: its path, its test accuracy, and whether it was measured here."""
    path: str
    accuracy: float
    count: int
    noun: str                   # what it was tested on, singular: "test image", "test clip"
    measured: bool = False      # no record: measured on this run's test split

    def line(self) -> str:
        """The judge as the results name it."""
        on = "this run's " if self.measured else ""
        return f"judge: {self.path} (test accuracy {self.accuracy:.1%} on {on}{counted(self.count, self.noun)})"


@dataclass(frozen=True)
class JudgeRequest:
    """What the judge must fit: this run's data and the recipe's settings."""
    dataset: str                       # the recipe's --data (and the classifier recipe's)
    root: str                          # where the data was read from
    classes: list[str]
    fingerprint: str
    min_accuracy: float
    noun: str                          # "test image", "test clip"
    measure: Callable[[object], tuple[float, int]]      # classifier -> (accuracy, count) on this run's test split
    problem: Callable[[object], str | None] = lambda classifier: None    # e.g. it takes other images
    settings: tuple[str, ...] = ()     # --set KEY=VALUE a retrained judge needs to fit (e.g. the image shape)


def default_folder(exp_dir: Path, dataset: str) -> Path:
    """Where the classifier recipe's judge for ``dataset`` lives: beside the experiment folder."""
    return Path(exp_dir).parent / f"classifier-{dataset}"


def retrain_command(dataset: str, root: str | Path, folder: Path, max_steps: int | None = None,
                    settings: tuple[str, ...] = ()) -> str:
    """The command that (re)trains the classifier recipe's model in ``folder`` on this data."""
    steps = f" --max-steps {max_steps}" if max_steps else ""
    sets = "".join(f" --set '{setting}'" for setting in settings)
    return f"`wavegen recipe classifier --data {dataset} --data-root {root} --exp-dir {folder}{steps}{sets}`"


def locate_judge(given: str, exp_dir: Path, overrides: list[str], for_classifier: list[str], dataset: str,
                 root: str | Path) -> str:
    """The judge's path: ``given`` (evaluate.classifier), or the classifier recipe's, trained first if missing.

    Under torchrun a missing one is refused instead: training it inside the
    data-parallel run would end the process group the generator trains in.
    """
    if given:
        if not Path(given).is_file():
            raise WavegenError(f"evaluate.classifier {given}: no such checkpoint; give the model.safetensors of "
                               f"`wavegen recipe classifier --data {dataset}`, or leave it empty for the one in "
                               f"{default_folder(exp_dir, dataset)}")
        return given
    folder = default_folder(exp_dir, dataset)
    path = folder / "model.safetensors"
    if path.is_file():
        return str(path)
    if dist.launched_by_torchrun():
        raise WavegenError(f"no classifier in {folder} to judge this run, and it cannot be trained inside a "
                           f"torchrun launch; train it first: {retrain_command(dataset, root, folder)}")
    # The classifier recipe on the same data (a generated demo is already written where this experiment's
    # came from) and device; ``for_classifier`` are its own --set values.
    recipe = importlib.import_module(f"wavegen.recipes.classifier.{dataset.replace('-', '_')}")
    shared = [o for o in overrides if o.startswith(("corpus.", "train.device"))]
    log.info("no classifier at %s: running `wavegen recipe classifier --data %s` first", path, dataset)
    recipe.run(folder, Path(root), shared + for_classifier)
    return str(path)


def check_judge(path: str, request: JudgeRequest, device: torch.device) -> Judge:
    """The judge at ``path`` if it fits ``request``; otherwise a one-line refusal that says how to retrain it."""
    classifier = wavegen.load(path, device=device)
    require(classifier, Classifier, path)
    folder = Path(path).parent
    retrain = retrain_command(request.dataset, request.root, folder, settings=request.settings)
    known = [str(c) for c in (getattr(classifier, "classes", None) or getattr(classifier, "labels", None) or [])]
    if known != list(request.classes):
        theirs = ", ".join(request.classes) or "none: the examples are not in classes"
        raise WavegenError(f"{path}: a classifier of other classes ({', '.join(known)}) than this data's "
                           f"({theirs}); retrain it on this data: {retrain}")
    problem = request.problem(classifier)
    if problem:
        raise WavegenError(f"{path}: {problem}; retrain it on this data: {retrain}")
    record = read_record(path)
    if record is not None and record["data_fingerprint"] != request.fingerprint:
        raise WavegenError(f"{path} was trained on other data ({record['root']}, fingerprint "
                           f"{record['data_fingerprint']}) than this run's ({request.root}, fingerprint "
                           f"{request.fingerprint}); retrain it on this data: {retrain}")
    if record is None:
        accuracy, count = request.measure(classifier)
        log.warning("%s: no record of the data it was trained on (it predates wavegen's %s, or was trained "
                    "elsewhere), so it cannot be compared with this run's; going on with its accuracy on this "
                    "run's test split, %.1f%% of %s (running its classifier recipe again, with the same settings, "
                    "records it without retraining)", path, RECORD, 100 * accuracy, counted(count, request.noun))
    else:
        accuracy, count = record["test_accuracy"], record["test_count"]
    judge = Judge(path, accuracy, count, request.noun, measured=record is None)
    chance = 1 / max(len(request.classes), 1)
    if request.min_accuracy and (accuracy < request.min_accuracy or accuracy <= chance):
        longer = retrain_command(request.dataset, request.root, folder, _more_steps(path, request.dataset),
                                 request.settings)
        whose = "this run's" if judge.measured else "its"
        short = (f"below evaluate.judge_min_accuracy ({request.min_accuracy:g})" if accuracy < request.min_accuracy
                 else f"no better than chance (1 in {len(request.classes)})")
        raise WavegenError(f"{path}: test accuracy {accuracy:.1%} on {whose} {counted(count, request.noun)}, "
                           f"{short}: too poor to judge samples; retrain it longer: {longer}, or lower "
                           f"evaluate.judge_min_accuracy (0 accepts any judge)")
    log.info("%s", judge.line())
    return judge


def _more_steps(path: str, dataset: str) -> int:
    """Steps to suggest for a retrain: the classifier recipe's default, or twice what it had if that was more."""
    trained = int(read_checkpoint(path, verify=False)[0].get("step") or 0)
    try:
        recipe = importlib.import_module(f"wavegen.recipes.classifier.{dataset.replace('-', '_')}")
        default = int(recipe.CONFIG["train"]["max_steps"])
    except (ImportError, AttributeError, KeyError):
        default = 0
    return max(default, 2 * trained, 1)


def check_min_accuracy(evaluate: dict) -> None:
    """Refuse an ``evaluate.judge_min_accuracy`` outside 0..1 (a recipe's config check)."""
    value = evaluate["judge_min_accuracy"]
    if not 0 <= value <= 1:
        raise WavegenError(f"evaluate.judge_min_accuracy must lie between 0 and 1 (a share of test examples), "
                           f"got {value}")
