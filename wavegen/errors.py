"""User-facing errors.

Anything raised as a :class:`WavegenError` is a problem with what the user gave
us (a file, a flag, a checkpoint). The CLI prints it as one line and exits with
a non-zero code; it never shows a traceback for these.
"""

from __future__ import annotations

from pathlib import Path


class WavegenError(Exception):
    """Base class for errors caused by user input."""


class AudioFileError(WavegenError):
    """An audio file that cannot be read, is empty, or is not audio."""

    def __init__(self, path: str | Path, problem: str):
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")


class CheckpointError(WavegenError):
    """A checkpoint that is truncated, foreign, tampered with or of the wrong kind."""

    def __init__(self, path: str | Path, problem: str):
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")


class DatasetError(WavegenError):
    """A dataset folder that is missing or does not have the expected layout."""
