"""Timing shared by the benchmarks: the best of several runs after a warm-up."""

from __future__ import annotations

import time


def best_time(fn, repeats: int) -> float:
    """Seconds of the fastest of ``repeats`` calls of ``fn()``, after one warm-up call.

    The warm-up fills the allocator and oneDNN's primitive cache; the best run sees
    through other load on the machine.
    """
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)
