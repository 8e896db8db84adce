"""Score a folder of enhanced (or noisy) files against a folder of references.

Files are paired by their path relative to each folder, ignoring the suffix,
so ``clean/p232_001.wav`` pairs with ``enhanced/p232_001.flac``. Every pair is
scored with :func:`wavegen.audio.metrics.evaluate_pair` at the reference's
sample rate. Anything odd about a pair (a file on one side only, another
sample rate, a length mismatch, an unreadable file, an undefined metric) goes
into ``EvaluationResult.problems`` instead of stopping the run.

Multi-channel files are mixed to mono (the mean of the channels) before
scoring, and that is noted among the problems.
"""

from __future__ import annotations

import csv
import logging
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from wavegen.audio.io import find_audio_files, read_audio, resample
from wavegen.audio.metrics import METRIC_NAMES, evaluate_pair
from wavegen.core.files import atomic_output
from wavegen.errors import WavegenError

log = logging.getLogger(__name__)

Progress = Callable[[Iterable], Iterable]


@dataclass
class EvaluationResult:
    """Per-file scores (keyed by the reference's relative path), their means, and what went wrong."""

    reference_dir: Path
    estimate_dir: Path
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    means: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    csv_path: Path | None = None

    @property
    def num_files(self) -> int:
        return len(self.scores)


def evaluate_folders(reference_dir: str | Path, estimate_dir: str | Path, *,
                     csv_path: str | Path | None = None,
                     progress: Progress | None = None,
                     max_length_mismatch_fraction: float = 0.01,
                     max_length_mismatch_seconds: float = 0.02) -> EvaluationResult:
    """Score every estimate that has a reference with the same relative name.

    A length mismatch up to the larger of ``max_length_mismatch_fraction`` of
    the reference and ``max_length_mismatch_seconds`` is trimmed to the shorter
    signal and reported; a larger one is reported and the file skipped. An
    estimate at another sample rate is resampled to the reference's rate.
    Means are over the files where a metric is finite. ``csv_path``, when
    given, receives one row per scored file (written atomically). ``progress``
    wraps the loop over pairs, e.g. ``tqdm``.

    Raises :class:`WavegenError` when a folder is missing or no file pairs up.
    """
    reference_dir, estimate_dir = Path(reference_dir), Path(estimate_dir)
    for folder in (reference_dir, estimate_dir):
        if not folder.is_dir():
            raise WavegenError(f"{folder}: no such folder")
    result = EvaluationResult(reference_dir, estimate_dir)
    references = _files_by_key(reference_dir, result.problems)
    estimates = _files_by_key(estimate_dir, result.problems)
    matched = sorted(references.keys() & estimates.keys())
    if not matched:
        raise WavegenError(f"no audio files in {estimate_dir} match any in {reference_dir} "
                           f"(found {len(estimates)} and {len(references)} files; "
                           f"files pair up by their path relative to each folder)")
    for key in sorted(references.keys() - estimates.keys()):
        result.problems.append(f"{_relative(references[key], reference_dir)}: no estimate; skipped")
    for key in sorted(estimates.keys() - references.keys()):
        result.problems.append(f"{_relative(estimates[key], estimate_dir)}: no reference; skipped")

    tolerance = (max_length_mismatch_fraction, max_length_mismatch_seconds)
    pairs = [(references[key], estimates[key]) for key in matched]
    for reference_path, estimate_path in (progress(pairs) if progress else pairs):
        name = _relative(reference_path, reference_dir)
        scores = _score_pair(name, reference_path, estimate_path, tolerance, result.problems)
        if scores is not None:
            result.scores[name] = scores

    result.means = _finite_means(result.scores.values())
    if csv_path is not None:
        result.csv_path = write_scores_csv(csv_path, result.scores)
    log.info("scored %d of %d matched files (%d problems)", result.num_files, len(matched),
             len(result.problems))
    return result


def _files_by_key(folder: Path, problems: list[str]) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for path in find_audio_files([folder]):
        key = path.relative_to(folder).with_suffix("").as_posix()
        if key in files:
            problems.append(f"{_relative(path, folder)}: same name as "
                            f"{_relative(files[key], folder)} in {folder}; ignored")
            continue
        files[key] = path
    return files


def _score_pair(name: str, reference_path: Path, estimate_path: Path,
                tolerance: tuple[float, float], problems: list[str]) -> dict[str, float] | None:
    """Read, align and score one pair; returns None (after noting why) when it cannot be scored."""
    try:
        reference, reference_rate = _read_mono(reference_path, "reference", name, problems)
        estimate, estimate_rate = _read_mono(estimate_path, "estimate", name, problems)
    except WavegenError as exc:
        problems.append(f"{name}: {exc}; skipped")
        return None
    if estimate_rate != reference_rate:
        estimate = resample(estimate, estimate_rate, reference_rate).double().numpy()
        problems.append(f"{name}: estimate resampled from {estimate_rate} Hz to {reference_rate} Hz")

    difference = abs(len(reference) - len(estimate))
    if difference:
        fraction, seconds = tolerance
        allowed = max(fraction * len(reference), seconds * reference_rate)
        described = (f"lengths differ by {difference} samples ({1000 * difference / reference_rate:.1f} ms; "
                     f"reference {len(reference)}, estimate {len(estimate)})")
        if difference > allowed:
            problems.append(f"{name}: {described}; skipped")
            return None
        shorter = min(len(reference), len(estimate))
        reference, estimate = reference[:shorter], estimate[:shorter]
        problems.append(f"{name}: {described}; trimmed to the shorter")

    try:
        scores = evaluate_pair(reference, estimate, reference_rate)
    except WavegenError as exc:
        problems.append(f"{name}: {exc}; skipped")
        return None
    undefined = [metric for metric, value in scores.items() if math.isnan(value)]
    if undefined:
        problems.append(f"{name}: {', '.join(undefined)} undefined (silent or too short); "
                        f"left out of those means")
    return scores


def _read_mono(path: Path, role: str, name: str, problems: list[str]) -> tuple[np.ndarray, int]:
    audio, rate = read_audio(path)                                        # (C, T)
    if audio.shape[0] > 1:
        problems.append(f"{name}: {role} has {audio.shape[0]} channels; mixed to mono")
    return audio.astype(np.float64).mean(axis=0), rate


def _finite_means(rows: Iterable[Mapping[str, float]]) -> dict[str, float]:
    rows = list(rows)
    means = {}
    for metric in METRIC_NAMES:
        values = [row[metric] for row in rows if math.isfinite(row[metric])]
        means[metric] = float(np.mean(values)) if values else math.nan
    return means


def write_scores_csv(path: str | Path, scores: Mapping[str, Mapping[str, float]]) -> Path:
    """One row per file (``file`` then the metrics), written to a temp file and renamed into place."""
    path = Path(path)
    with atomic_output(path) as tmp, tmp.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", *METRIC_NAMES])
        for name, row in scores.items():
            writer.writerow([name, *(f"{row[metric]:.6f}" for metric in METRIC_NAMES)])
    return path


def format_table(columns: Mapping[str, Mapping[str, float]], precision: int = 3) -> str:
    """A plain-text table: one row per metric, one column per condition.

    ``format_table({"noisy": noisy.means, "enhanced": enhanced.means})``. Metrics
    appear in :data:`METRIC_NAMES` order, then any others in first-seen order;
    a metric missing from a condition shows as ``-``.
    """
    seen = [metric for values in columns.values() for metric in values]
    metrics = [m for m in METRIC_NAMES if m in seen] + [m for m in dict.fromkeys(seen) if m not in METRIC_NAMES]
    header = ["metric", *columns]
    body = [[metric, *(_format_value(values.get(metric), precision) for values in columns.values())]
            for metric in metrics]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        first, *rest = cells
        return "  ".join([first.ljust(widths[0]), *(cell.rjust(w) for cell, w in zip(rest, widths[1:]))]).rstrip()

    return "\n".join([line(header), *(line(row) for row in body)])


def _format_value(value: float | None, precision: int) -> str:
    return "-" if value is None else f"{value:.{precision}f}"


def _relative(path: Path, folder: Path) -> str:
    return path.relative_to(folder).as_posix()
