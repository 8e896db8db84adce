"""Score a folder of enhanced (or noisy) files against a folder of references.

Files are paired by their path relative to each folder, ignoring the suffix,
so ``clean/p232_001.wav`` pairs with ``enhanced/p232_001.flac``. Every pair is
scored with :func:`wavegen.audio.metrics.evaluate_pair` at the reference's
sample rate. Anything odd about a pair (a file on one side only, another
sample rate, a length mismatch, an unreadable file, an undefined metric) goes
into ``EvaluationResult.problems`` instead of stopping the run.

Means are over the files where a metric is finite. A NaN (undefined: PESQ or
STOI of a silent or too-short file, ...) or infinite value (SI-SDR of an
estimate identical to its reference) stays in the per-file scores and the CSV,
is named per file among the problems, and is left out of that metric's mean;
``EvaluationResult.counts`` says how many files each mean is over, and a
problem line says so wherever that is fewer than all scored files.

The CSV path is checked before anything is scored: a bad one is refused
rather than discovered after the work, it may never replace an input, and it
replaces an existing file only with ``overwrite``.

Multi-channel files are mixed to mono (the mean of the channels) before
scoring, and that is noted among the problems.
"""

from __future__ import annotations

import csv
import logging
import math
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from wavegen.audio.io import AUDIO_EXTENSIONS, find_audio_files, read_audio, resample
from wavegen.audio.metrics import METRIC_NAMES, evaluate_pair_with_reasons
from wavegen.core.files import atomic_output, refuse_existing
from wavegen.errors import WavegenError
from wavegen.words import counted

log = logging.getLogger(__name__)

Progress = Callable[[Iterable], Iterable]


@dataclass
class EvaluationResult:
    """Per-file scores (keyed by the reference's relative path), their means, and what went wrong.

    ``means[metric]`` is over the ``counts[metric]`` files where that metric is
    finite (NaN when there are none); ``num_files`` is every file scored.
    """

    reference_dir: Path
    estimate_dir: Path
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    means: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    csv_path: Path | None = None

    @property
    def num_files(self) -> int:
        return len(self.scores)


def evaluate_folders(reference_dir: str | Path, estimate_dir: str | Path, *,
                     csv_path: str | Path | None = None, overwrite: bool = False,
                     progress: Progress | None = None,
                     max_length_mismatch_fraction: float = 0.01,
                     max_length_mismatch_seconds: float = 0.02) -> EvaluationResult:
    """Score every estimate that has a reference with the same relative name.

    A length mismatch up to the larger of ``max_length_mismatch_fraction`` of
    the reference and ``max_length_mismatch_seconds`` is trimmed to the shorter
    signal and reported; a larger one is reported and the file skipped. An
    estimate at another sample rate is resampled to the reference's rate.
    Means are over the files where a metric is finite (see the module notes).
    ``csv_path``, when given, receives one row per scored file, raw values
    included (``nan``, ``inf``), written atomically; it may lie in either
    folder (only audio files are read there) but may not be a folder, end in
    an audio suffix, or be (or link to) any audio file in either folder, and
    it replaces an existing file only with ``overwrite``.
    ``progress`` wraps the loop over pairs, e.g. ``tqdm``.

    Raises :class:`WavegenError` when a folder is missing, the CSV path is
    refused (before any scoring), or no file pairs up.
    """
    reference_dir, estimate_dir = Path(reference_dir), Path(estimate_dir)
    for folder in (reference_dir, estimate_dir):
        if not folder.is_dir():
            raise WavegenError(f"{folder}: no such folder")
    result = EvaluationResult(reference_dir, estimate_dir)
    reference_files, estimate_files = find_audio_files([reference_dir]), find_audio_files([estimate_dir])
    if csv_path is not None:
        check_csv_path(csv_path, [*reference_files, *estimate_files], overwrite)
    references = _files_by_key(reference_dir, reference_files, result.problems)
    estimates = _files_by_key(estimate_dir, estimate_files, result.problems)
    matched = sorted(references.keys() & estimates.keys())
    if not matched:
        raise WavegenError(f"no audio files in {estimate_dir} match any in {reference_dir} "
                           f"(found {counted(len(estimates), 'file')} and {counted(len(references), 'file')}; "
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

    result.means, result.counts = _finite_means(result.scores.values())
    result.problems.extend(_partial_mean_notes(result.counts, result.num_files))
    if csv_path is not None:
        result.csv_path = write_scores_csv(csv_path, result.scores)
    log.info("scored %d of %d matched files (%d problems)", result.num_files, len(matched),
             len(result.problems))
    return result


def check_csv_path(csv_path: str | Path, inputs: Iterable[Path], overwrite: bool = False) -> None:
    """Refuse (:class:`WavegenError`, one line) a CSV path that would cost data or fail late.

    Refused: an existing folder; any existing file that is one of ``inputs``
    however it is reached (same path, a symbolic link, a hard link, a link to
    a folder: all have the input's device and inode); a name ending in an
    audio suffix (it could be an input, and would be read as one by the next
    evaluation of that folder); any other existing file unless ``overwrite``;
    a path whose folder cannot be created.
    """
    csv_path = Path(csv_path)
    if csv_path.is_dir():
        raise WavegenError(f"{csv_path}: is a folder; give a file name for the CSV, e.g. {csv_path / 'scores.csv'}")
    try:
        target = csv_path.stat()
    except FileNotFoundError:
        target = None
    except OSError as exc:
        raise WavegenError(f"{csv_path}: cannot be used for the CSV ({exc.strerror or exc})") from None
    if target is not None:
        for path in inputs:
            try:
                same = os.path.samestat(target, path.stat())
            except OSError:
                continue
            if same:
                described = ("is an input file" if csv_path.absolute() == path.absolute()
                             else f"is the same file as the input {path}")
                raise WavegenError(f"{csv_path}: {described}; the CSV would replace it")
    if csv_path.suffix.lower() in AUDIO_EXTENSIONS:
        raise WavegenError(f"{csv_path}: the CSV's name ends in an audio suffix ({csv_path.suffix}); use .csv")
    refuse_existing([csv_path], overwrite, instead="or another --csv file")
    _check_folder_can_hold(csv_path)


def _check_folder_can_hold(path: Path) -> None:
    # without creating anything yet: the nearest existing ancestor must be a folder we may write in
    folder = path.absolute().parent
    while not folder.exists():
        if folder.is_symlink():                # a dangling link cannot be created as a folder
            raise WavegenError(f"{path}: cannot create its folder ({folder} is a broken link)")
        folder = folder.parent
    if not folder.is_dir():
        raise WavegenError(f"{path}: cannot create its folder ({folder} is not a folder)")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise WavegenError(f"{path}: cannot write in {folder} (permission denied)")


def _files_by_key(folder: Path, found: Iterable[Path], problems: list[str]) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for path in found:
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
        described = (f"lengths differ by {counted(difference, 'sample')} ({1000 * difference / reference_rate:.1f} ms; "
                     f"reference {len(reference)}, estimate {len(estimate)})")
        if difference > allowed:
            problems.append(f"{name}: {described}; skipped")
            return None
        shorter = min(len(reference), len(estimate))
        reference, estimate = reference[:shorter], estimate[:shorter]
        problems.append(f"{name}: {described}; trimmed to the shorter")

    try:
        scores, reasons = evaluate_pair_with_reasons(reference, estimate, reference_rate)
    except WavegenError as exc:
        problems.append(f"{name}: {exc}; skipped")
        return None
    problems.extend(_non_finite_notes(name, scores, reasons))
    return scores


def _non_finite_notes(name: str, scores: Mapping[str, float], reasons: Mapping[str, str]) -> list[str]:
    """One line per (kind, reason): ``a.wav: stoi, estoi undefined (...); left out of those means``."""
    groups: dict[tuple[str, str], list[str]] = {}
    for metric, value in scores.items():
        if not math.isfinite(value):
            kind = "undefined" if math.isnan(value) else f"{value:+}"
            groups.setdefault((kind, reasons.get(metric, "no reason recorded")), []).append(metric)
    notes = []
    for (kind, reason), metrics in groups.items():
        state = kind if kind == "undefined" else f"{'is' if len(metrics) == 1 else 'are'} {kind}"
        which = f"the {metrics[0]} mean" if len(metrics) == 1 else "those means"
        notes.append(f"{name}: {', '.join(metrics)} {state} ({reason}); left out of {which}")
    return notes


def _read_mono(path: Path, role: str, name: str, problems: list[str]) -> tuple[np.ndarray, int]:
    audio, rate = read_audio(path)                                        # (C, T)
    if audio.shape[0] > 1:
        problems.append(f"{name}: {role} has {audio.shape[0]} channels; mixed to mono")
    return audio.astype(np.float64).mean(axis=0), rate


def _finite_means(rows: Iterable[Mapping[str, float]]) -> tuple[dict[str, float], dict[str, int]]:
    rows = list(rows)
    means, counts = {}, {}
    for metric in METRIC_NAMES:
        values = [row[metric] for row in rows if math.isfinite(row[metric])]
        means[metric] = float(np.mean(values)) if values else math.nan
        counts[metric] = len(values)
    return means, counts


def _partial_mean_notes(counts: Mapping[str, int], total: int) -> list[str]:
    """``pesq, csig: means over 1 of 2 files (the others are left out)``, one line per count."""
    by_count: dict[int, list[str]] = {}
    for metric, count in counts.items():
        if count < total:
            by_count.setdefault(count, []).append(metric)
    notes = []
    for count, metrics in sorted(by_count.items(), reverse=True):
        if count == 0:
            files = f"any of the {total} files" if total > 1 else "the one file"
            notes.append(f"{', '.join(metrics)}: no mean (not finite for {files})")
        else:
            noun = "mean" if len(metrics) == 1 else "means"
            notes.append(f"{', '.join(metrics)}: {noun} over {count} of {total} files (the others are left out)")
    return notes


def write_scores_csv(path: str | Path, scores: Mapping[str, Mapping[str, float]]) -> Path:
    """One row per file (``file`` then the metrics), written to a temp file and renamed into place.

    Values are written as they are: an undefined one as ``nan``, an infinite one as ``inf``.
    """
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
