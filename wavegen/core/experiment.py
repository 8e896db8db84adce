"""Experiment folders for recipes: config overrides, saved config, resumable stages.

A recipe's config is a nested dict at the top of its file. ``--set key=value``
overrides any leaf by dotted path; the final config is saved as
``exp_dir/config.json``. Each named stage leaves a marker
``exp_dir/stages/<name>.json`` with a fingerprint of the config it ran with and
of the stages before it, so re-running a recipe skips finished stages and
re-runs exactly those whose inputs, or whose upstream results, changed.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wavegen.core import distributed as dist
from wavegen.core.checkpoint import read_checkpoint
from wavegen.core.files import (copy_file_atomic, refuse_existing, save_figure, write_json_atomic,
                                write_text_atomic)
from wavegen.errors import WavegenError
from wavegen.words import counted

log = logging.getLogger(__name__)


def apply_overrides(config: dict[str, Any], assignments: list[str]) -> dict[str, Any]:
    """Return a copy of ``config`` with ``key.sub=value`` assignments applied.

    Unknown keys are an error, so a typo never goes unnoticed, and every value
    must have the type of the default it replaces (integer, number, boolean,
    string, or a list of those), so a wrong one is refused before any work
    starts. Values are read as JSON (``32``, ``true``, ``[4,8]``, ``null``);
    where the default is a string the text is taken as it is. A default of
    ``null`` accepts any value.
    """
    config = copy.deepcopy(config)
    for assignment in assignments:
        key, sep, raw = assignment.partition("=")
        if not sep or not key:
            raise WavegenError(f"--set {assignment!r}: expected key=value, e.g. train.batch_size=32")
        node, parts = config, key.split(".")
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                raise WavegenError(f"--set {assignment!r}: no config section {part!r} "
                                   f"(known keys: {', '.join(sorted(flatten_keys(config)))})")
            node = node[part]
        if parts[-1] not in node or isinstance(node[parts[-1]], dict):
            raise WavegenError(f"--set {assignment!r}: unknown key {key!r} "
                               f"(known keys: {', '.join(sorted(flatten_keys(config)))})")
        node[parts[-1]] = _typed_value(key, raw, node[parts[-1]])
    return config


def _typed_value(key: str, raw: str, default: Any) -> Any:
    """``raw`` read as the type of ``default``, or a one-line error naming key, type and default."""
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    if default is None:
        return value
    if isinstance(default, str):
        return value if isinstance(value, str) else raw
    expected = _type_name(default)
    fits = (all(_fits(item, default[0]) for item in value) if default else True) \
        if isinstance(default, list) and isinstance(value, list) else _fits(value, default)
    if not fits:
        raise WavegenError(f"--set {key}={raw}: expected {expected} (default: {json.dumps(default)})")
    if isinstance(default, float):
        return float(value)
    if isinstance(default, list) and default and isinstance(default[0], float):
        return [float(item) for item in value]
    return value


def _fits(value: Any, default: Any) -> bool:
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(default, str):
        return isinstance(value, str)
    if isinstance(default, list):
        return isinstance(value, list)
    return type(value) is type(default)


_TYPE_NAMES = {bool: ("true or false", "booleans"), int: ("an integer", "integers"),
               float: ("a number", "numbers"), str: ("a string", "strings")}


def _type_name(default: Any) -> str:
    if isinstance(default, list):
        return f"a list of {_TYPE_NAMES.get(type(default[0]), ('', 'values'))[1]}" if default else "a list"
    return _TYPE_NAMES.get(type(default), (type(default).__name__,))[0]


def flatten_keys(config: dict[str, Any], prefix: str = "") -> list[str]:
    keys = []
    for k, v in config.items():
        keys.extend(flatten_keys(v, f"{prefix}{k}.") if isinstance(v, dict) else [f"{prefix}{k}"])
    return keys


def fingerprint(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


class Experiment:
    """One experiment folder: the saved config and a chain of resumable stages."""

    def __init__(self, exp_dir: str | Path, config: dict[str, Any]):
        self.dir = Path(exp_dir)
        if self.dir.exists() and not self.dir.is_dir():
            raise WavegenError(f"--exp-dir {self.dir}: is a file, not a folder")
        self.config = config
        # Folders a refused run would leave behind: the experiment folder and any parents it creates.
        self._new_folders = [p for p in (self.dir, *self.dir.parents) if not p.exists()]
        self._chain = ""
        # config.json is written when the first stage runs, not before: a run refused by its checks
        # leaves no folder behind. Until a stage that depends on the config has finished, a refusal
        # (WavegenError) puts the previous config.json back, so it always describes the results there.
        self._previous_config: str | None = None
        self._config_written = self._committed = False

    def _write_config(self) -> None:
        path = self.dir / "config.json"
        if dist.rank() == 0 and not self._config_written:
            self._previous_config = path.read_text() if path.is_file() else None
            write_json_atomic(path, self.config)
        self._config_written = True

    def _restore_config(self) -> None:
        path = self.dir / "config.json"
        if dist.rank() == 0 and self._config_written and not self._committed:
            if self._previous_config is None:
                path.unlink(missing_ok=True)
                for folder in self._new_folders:        # deepest first; only if nothing is left in it
                    if folder.is_dir() and not any(folder.iterdir()):
                        folder.rmdir()
            else:
                write_text_atomic(path, self._previous_config)

    def stage(self, name: str, inputs: Any, run: Callable[[], Any], *, all_processes: bool = False,
              always: bool = False) -> Any:
        """Run ``run()`` unless this stage already finished with the same inputs and upstream stages.

        ``inputs`` is whatever the stage depends on besides earlier stages
        (usually its config section); ``run`` returns a JSON-serialisable
        summary, kept in the marker and chained into the fingerprint of every
        later stage. ``always`` runs a stage that is cheap when there is nothing
        to do (its result still decides whether later stages re-run). Under
        torchrun a stage runs in the main process only (the others wait and
        read its marker) unless ``all_processes`` is set, as for training.
        """
        self._chain = fingerprint(self._chain, name, inputs)
        marker = self.dir / "stages" / f"{name}.json"
        result = None if always else self._finished(marker)
        if result is not None:
            log.info("stage %s: already done, skipping", name)
        else:
            if all_processes or dist.rank() == 0:
                log.info("stage %s: running", name)
                self._write_config()
                try:
                    result = run()
                except WavegenError:
                    self._restore_config()
                    raise
                self._committed = self._committed or not always
            if dist.rank() == 0:
                write_json_atomic(marker, {"fingerprint": self._chain, "result": result})
            dist.barrier()
            if result is None:
                result = self._finished(marker)
        self._chain = fingerprint(self._chain, result)
        return result

    def _finished(self, marker: Path) -> Any:
        if marker.exists():
            done = json.loads(marker.read_text())
            if done.get("fingerprint") == self._chain:
                return done.get("result")
        return None


def plot_evaluations(exp_dir: str | Path, path: str | Path, *, title: str = "",
                     baselines: dict[str, float] | None = None, baseline_label: str = "baseline") -> Path:
    """Every metric of ``logs/eval.csv`` against the step, one panel each, the published step marked.

    ``baselines`` draws a level per metric (e.g. what the input itself scores) as a dotted line.
    """
    import csv
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    exp_dir = Path(exp_dir)
    with (exp_dir / "logs" / "eval.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise WavegenError(f"{exp_dir}/logs/eval.csv: no evaluations to plot")
    metrics = [k for k in rows[0] if k not in ("step", "elapsed_s")]
    steps = [int(r["step"]) for r in rows]
    header, _ = read_checkpoint(exp_dir / "model.safetensors")
    columns = min(4, len(metrics))
    rows_of_panels = -(-len(metrics) // columns)
    figure, axes = plt.subplots(rows_of_panels, columns, figsize=(3.6 * columns, 2.6 * rows_of_panels), squeeze=False)
    for ax, metric in zip(axes.flat, metrics):
        ax.plot(steps, [float(r[metric]) if r[metric] else float("nan") for r in rows], marker="o", ms=3)
        ax.axvline(header["step"], color="#c05621", lw=1, ls="--")
        if metric in (baselines or {}):
            ax.axhline(baselines[metric], color="#555555", lw=1, ls=":", label=baseline_label)
            ax.legend(fontsize=6, loc="best")
        ax.set_title(metric, fontsize=9, loc="left")
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(metrics):]:
        ax.axis("off")
    chosen = header.get("selection")
    note = (f"published: step {header['step']}, best {chosen['metric']} ({chosen['mode']})" if chosen
            else f"published: the last weights (step {header['step']})")
    return save_figure(figure, path, title=f"{title}  {note}".strip())


def describe_publication(checkpoint: str | Path, last_step: int | None = None, basis: str = "") -> str:
    """One line on which weights a checkpoint holds: the last ones, or the best by a metric (measured ``basis``)."""
    header, _ = read_checkpoint(checkpoint)
    chosen = header.get("selection")
    of = f" of {last_step}" if last_step else ""
    if not chosen:
        return f"published weights: the last ones (step {header['step']}{of})"
    better = "higher" if chosen["mode"] == "max" else "lower"
    return (f"published weights: step {chosen['step']}{of}, where {chosen['metric']} was best "
            f"({chosen['value']:.4g}; {better} is better){' ' + basis if basis else ''}")


def publish_samples(exp_dir: str | Path, destination: str | Path, *, overwrite: bool = False) -> list[Path]:
    """Copy an experiment's ``samples/`` folder (structure kept) into ``destination``; returns the copies.

    Recipes write their examples inside the experiment folder only, so a trial
    run never touches published samples; this is the explicit step that does.
    A file already at ``destination`` is replaced only with ``overwrite``, and
    that is checked for every file before anything is copied
    (:func:`~wavegen.core.files.refuse_existing`: "X already exists (1 of 2
    files); use --overwrite to replace"); a folder where a file would go is
    refused even with ``overwrite``.
    """
    source, destination = Path(exp_dir) / "samples", Path(destination)
    files = sorted(p for p in source.rglob("*") if p.is_file()) if source.is_dir() else []
    if not files:
        raise WavegenError(f"{source}: no samples to publish (run the recipe first)")
    if destination.exists() and not destination.is_dir():
        raise WavegenError(f"{destination}: is a file, not a folder")
    if destination.resolve().is_relative_to(source.resolve()) or source.resolve().is_relative_to(destination.resolve()):
        raise WavegenError(f"{destination}: must lie outside {source} (and not contain it)")
    targets = [destination / p.relative_to(source) for p in files]
    for folder in sorted({parent for t in targets for parent in t.parents if parent.is_relative_to(destination)}):
        if folder.exists() and not folder.is_dir():
            raise WavegenError(f"{folder}: is a file, not a folder (samples go inside it)")
    refuse_existing(targets, overwrite)               # a folder in the way is refused even with overwrite
    for file, target in zip(files, targets):
        copy_file_atomic(file, target)
    log.info("published %s from %s to %s", counted(len(targets), "file"), source, destination)
    return targets
