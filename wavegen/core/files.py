"""Atomic file output: write beside the target, then rename over it.

Every file wavegen writes (audio, checkpoints, manifests, CSV, JSON) goes
through :func:`atomic_output`, so an interrupted run leaves either the old file
or the complete new one, never a partial file; the new file's data and the
rename are flushed to disk (``fsync``) before the call returns, so a power cut
right after does not lose or tear them either.

The temporary file is ``.<stem>.wavegen-tmp-<host>-<pid>-<random><suffix>`` beside
the target: hidden, marked as wavegen's, and naming the machine (a short hash of
its host name) and the process writing it. A process killed mid-write leaves one
behind; the next write into that folder removes it once its writer is gone
(:func:`clear_stale_temporaries`). Nothing else is ever removed: not a file
without that exact form, not one of another machine, not one whose process is
still running.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from wavegen.errors import WavegenError
from wavegen.words import counted

MARKER = "wavegen-tmp"
_TEMPORARY = re.compile(rf"\..*\.{MARKER}-(?P<host>[0-9a-f]{{8}})-(?P<pid>[1-9][0-9]*)-[0-9a-f]{{8}}(\.[^.]*)?",
                        re.DOTALL)
_STEM_LIMIT = 80                   # of the target's stem in the temporary's name: long names still fit in 255
_cleared: dict[str, int] = {}      # folder -> its modification time after this process last wrote there


@contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path in ``path``'s folder (same suffix); rename it to ``path`` on success.

    The temporary's data is fsynced before the rename and the folder after it
    (where the platform can open a folder). Stale temporaries of killed writers
    in that folder are removed first (:func:`clear_stale_temporaries`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clear_stale_temporaries(path.parent)
    tmp = _create_temporary(path)
    mode = os.stat(tmp).st_mode & 0o777       # 0o666 less the umask: what a new file gets
    try:
        yield tmp
        if os.stat(tmp).st_mode & 0o777 != mode:
            os.chmod(tmp, mode)                # a writer that made its own file (0o600) gets the usual ones
        _fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)
    _remember_cleared(path.parent)


def temporary_name(path: Path) -> str:
    """The name of a new temporary for ``path``: hidden, marked, with this host and process, random."""
    return (f".{path.stem[:_STEM_LIMIT]}.{MARKER}-{_host_tag()}-{os.getpid()}-{secrets.token_hex(4)}"
            f"{path.suffix}")


def is_stale_temporary(name: str) -> bool:
    """Whether ``name`` is a temporary of :func:`atomic_output` written on this host by a process now gone."""
    match = _TEMPORARY.fullmatch(name)
    return bool(match) and match["host"] == _host_tag() and not _process_alive(int(match["pid"]))


def clear_stale_temporaries(folder: Path) -> list[Path]:
    """Remove the temporaries killed writers left in ``folder``; returns what was removed.

    Cheap when nothing changed: the folder is listed only if its modification
    time differs from the one this process saw after its own last write there.
    """
    key = str(folder)
    try:
        if _cleared.get(key) == os.stat(folder).st_mtime_ns:
            return []
        entries = [entry for entry in os.scandir(folder) if MARKER in entry.name]
    except OSError:
        return []
    removed = []
    for entry in entries:
        if is_stale_temporary(entry.name) and entry.is_file(follow_symlinks=False):
            try:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
            except OSError:
                pass                            # another process removed it, or it is not ours to remove
    return removed


def _create_temporary(path: Path) -> Path:
    for _ in range(100):
        tmp = path.parent / temporary_name(path)
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))   # the umask applies
            return tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {path}")


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDWR if os.name == "nt" else os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable; skipped where folders cannot be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _remember_cleared(folder: Path) -> None:
    if len(_cleared) > 4096:
        _cleared.clear()
    try:
        _cleared[str(folder)] = os.stat(folder).st_mtime_ns
    except OSError:
        pass


@lru_cache(maxsize=1)
def _host_tag() -> str:
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def _process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this host; True when that cannot be told (so nothing is removed)."""
    if pid == os.getpid() or os.name == "nt":     # on Windows os.kill would terminate the process
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:                               # PermissionError: it runs, as another user
        return True
    return True


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
