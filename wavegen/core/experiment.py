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
from wavegen.core.files import write_json_atomic
from wavegen.errors import WavegenError

log = logging.getLogger(__name__)


def apply_overrides(config: dict[str, Any], assignments: list[str]) -> dict[str, Any]:
    """Return a copy of ``config`` with ``key.sub=value`` assignments applied.

    Values are parsed as JSON when they can be (numbers, booleans, lists), else
    kept as strings. Unknown keys are an error, so a typo never goes unnoticed.
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
        if parts[-1] not in node:
            raise WavegenError(f"--set {assignment!r}: unknown key {key!r} "
                               f"(known keys: {', '.join(sorted(flatten_keys(config)))})")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        node[parts[-1]] = value
    return config


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
        self.config = config
        if dist.rank() == 0:
            write_json_atomic(self.dir / "config.json", config)
        self._chain = ""

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
                result = run()
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
