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

from wavegen.errors import WavegenError
from wavegen.words import counted


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


def refuse_existing(paths, overwrite: bool, *, option: str = "--overwrite", instead: str = "") -> None:
    """Before any work: a one-line error if any of ``paths`` exists and ``overwrite`` is not set.

    A folder standing where a file is to be written is refused even with
    ``overwrite``. ``instead`` suggests another way out ("or another -o folder").
    """
    paths = [Path(p) for p in paths]
    for path in paths:
        if path.is_dir():
            raise WavegenError(f"{path}: a folder is in the way of this output")
    existing = [p for p in paths if p.exists() or p.is_symlink()]
    if existing and not overwrite:
        many = f" ({len(existing)} of {counted(len(paths), 'file')})" if len(paths) > 1 else ""
        raise WavegenError(f"{existing[0]} already exists{many}; use {option} to replace"
                           f"{' it' if len(paths) == 1 else ''}{', ' + instead if instead else ''}")


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
