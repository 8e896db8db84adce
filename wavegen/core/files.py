"""Atomic file output: write beside the target, then rename over it.

Every file wavegen writes (audio, checkpoints, manifests, CSV, JSON) goes
through :func:`atomic_output`, so an interrupted run leaves either the old file
or the complete new one, never a partial file.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path in ``path``'s folder (same suffix); rename it to ``path`` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())     # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text_atomic(path: str | Path, text: str) -> Path:
    with atomic_output(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def write_json_atomic(path: str | Path, value: Any) -> Path:
    return write_text_atomic(path, json.dumps(value, indent=2, sort_keys=True) + "\n")


def copy_file_atomic(source: str | Path, target: str | Path) -> Path:
    """Copy ``source``'s bytes to ``target`` (its folder made if needed) through :func:`atomic_output`."""
    with atomic_output(target) as tmp:
        shutil.copyfile(source, tmp)
    return Path(target)


def save_figure(figure, path: str | Path, title: str = "", dpi: int = 100) -> Path:
    """A matplotlib figure titled, laid out and written as PNG atomically; the figure is closed."""
    import matplotlib.pyplot as plt
    if title:
        figure.suptitle(title, fontsize=10, x=0.01, ha="left")
    figure.tight_layout()
    path = Path(path)
    with atomic_output(path) as temporary:
        figure.savefig(temporary, format="png", dpi=dpi)
    plt.close(figure)
    return path
