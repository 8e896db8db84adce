"""Progress bars for the command line and recipes (library code only takes ``progress`` hooks).

Library functions accept either an iterable wrapper (``progress(items)``, for
loops over files) or a callback ``progress(done, total)`` (for work measured in
seconds of audio); these build both from tqdm. Bars hide themselves when
stderr is not a terminal.
"""

from __future__ import annotations

from contextlib import contextmanager

from tqdm.auto import tqdm


def wrap_iterable(desc: str, unit: str = "file"):
    """``progress`` for functions that wrap their loop: ``progress(items) -> items``."""
    return lambda items: tqdm(items, desc=desc, unit=unit, disable=None, leave=False)


@contextmanager
def seconds_callback(desc: str):
    """``progress(done, total)`` for work measured in seconds of audio, with the real-time factor."""
    with tqdm(desc=desc, unit="s audio", disable=None, leave=False,
              bar_format="{l_bar}{bar}| {n:.1f}/{total:.1f} s audio [{elapsed}<{remaining}, {rate_fmt}]") as bar:
        def update(done: float, total: float) -> None:
            bar.total = total
            bar.update(done - bar.n)
        yield update


@contextmanager
def samples_callback(desc: str, sample_rate: int | None):
    """``progress(done, total)`` counting generated samples, with samples/s and the real-time factor."""
    with tqdm(desc=desc, unit="sample", unit_scale=True, disable=None, leave=False) as bar:
        def update(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)
            rate = bar.format_dict.get("rate")
            if sample_rate and rate:
                bar.set_postfix_str(f"{rate / sample_rate:.2f}x real time", refresh=False)
        yield update
