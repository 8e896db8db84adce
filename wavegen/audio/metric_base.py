"""What every speech metric shares: its checked input, and the note of why a value is undefined.

Every metric takes 1-D float arrays, reference first, estimate second (:func:`checked_pair`
turns anything else into a :class:`WavegenError`). A metric that is undefined for a valid
input returns NaN through :func:`undefined`, which logs why as a warning; while
:func:`collecting_reasons` is active the reasons go to its dictionary instead (the log line
then drops to debug level), for a caller that reports them itself.
"""

from __future__ import annotations

import contextvars
import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from wavegen.errors import WavegenError

# While collecting_reasons runs, the metrics note here why a value is NaN or infinite;
# a context variable keeps every metric's signature (and return type) plain.
_REASONS: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "wavegen_metric_reasons", default=None)


def warning_level() -> int:
    """The level of a "this value is undefined" log line: a caller collecting reasons reports
    them itself, and a warning too would say it twice."""
    return logging.WARNING if _REASONS.get() is None else logging.DEBUG


def undefined(log: logging.Logger, metric: str, reason: str) -> float:
    """Log (on the metric's own ``log``) why ``metric`` is undefined, note it for the caller, and return NaN."""
    log.log(warning_level(), "%s undefined: %s", metric, reason)
    note(metric, reason)
    return math.nan


def note(metric: str, reason: str) -> None:
    """Note why ``metric`` is NaN or infinite, if a caller collects reasons (the first reason counts)."""
    reasons = _REASONS.get()
    if reasons is not None:
        reasons.setdefault(metric, reason)


@contextmanager
def collecting_reasons() -> Iterator[dict[str, str]]:
    """Inside, the metrics note why a value is NaN or infinite in the dictionary yielded."""
    reasons: dict[str, str] = {}
    token = _REASONS.set(reasons)
    try:
        yield reasons
    finally:
        _REASONS.reset(token)


def checked_pair(reference, estimate) -> tuple[np.ndarray, np.ndarray]:
    """``reference`` and ``estimate`` as float64 arrays, refused unless 1-D, of one length, non-empty and finite."""
    reference = np.asarray(reference, dtype=np.float64)
    estimate = np.asarray(estimate, dtype=np.float64)
    if reference.ndim != 1 or estimate.ndim != 1:
        raise WavegenError(f"metrics need 1-D signals, got shapes {reference.shape} and {estimate.shape}")
    if reference.shape != estimate.shape:
        raise WavegenError(f"reference and estimate differ in length "
                           f"({len(reference)} and {len(estimate)} samples)")
    if len(reference) == 0:
        raise WavegenError("metrics need non-empty signals")
    if not (np.all(np.isfinite(reference)) and np.all(np.isfinite(estimate))):
        raise WavegenError("signals contain NaN or infinite samples")
    return reference, estimate
