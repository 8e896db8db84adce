"""Where a real corpus lies when the user names none: ``$WAVEGEN_DATA/<corpus>``, then ``./data/<corpus>``.

``wavegen recipe segan --data voicebank`` works as the product states it once
VoiceBank-DEMAND is unpacked in one of these places. The layout is checked
before a recipe creates anything, and a missing corpus gets one message naming
the folders expected, where the corpus comes from, and how to point elsewhere.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from wavegen.errors import DatasetError

DATA_ENV = "WAVEGEN_DATA"
# The folder each archive unpacks to, which is also its default name under a data folder.
DEFAULT_FOLDERS = {"voicebank": "VoiceBank-DEMAND", "vctk": "VCTK-Corpus-0.92", "ljspeech": "LJSpeech-1.1",
                   "sc09": "speech_commands_v0.02", "mnist": "mnist", "fashion-mnist": "fashion-mnist",
                   "cifar10": "cifar-10-batches-py", "folder": "images", "digits": "digits"}


def candidate_roots(corpus: str) -> list[Path]:
    """Where ``corpus`` is looked for, in order: ``$WAVEGEN_DATA/<folder>`` (when set), ``./data/<folder>``."""
    folder = DEFAULT_FOLDERS[corpus]
    roots = [Path(os.environ[DATA_ENV]) / folder] if os.environ.get(DATA_ENV) else []
    return roots + [Path("data") / folder]


def locate_corpus(corpus: str, data_root: Path | None, check_layout: Callable[[Path], object]) -> Path:
    """``data_root`` if given, else the first default location that exists; its layout checked.

    ``check_layout(root)`` raises :class:`DatasetError` naming the layout and the
    corpus's source. With no ``data_root`` and nothing at the default locations,
    its message is extended with where we looked and how to point elsewhere.
    """
    if data_root is not None:
        check_layout(Path(data_root))
        return Path(data_root)
    candidates = candidate_roots(corpus)
    found = next((root for root in candidates if root.exists()), None)
    if found is not None:
        check_layout(found)
        return found
    try:
        check_layout(candidates[-1])
    except DatasetError as exc:
        looked = " and ".join(str(root) for root in candidates)
        unset = "" if os.environ.get(DATA_ENV) else f" ({DATA_ENV} is not set)"
        raise DatasetError(f"{exc}; looked in {looked}{unset}: unpack it there, set {DATA_ENV} to the folder "
                           f"holding {DEFAULT_FOLDERS[corpus]}, or pass --data-root PATH") from None
    return candidates[-1]


def unpack_hint(root: Path, *markers: str) -> str:
    """A hint when the corpus sits one folder down (the archive's own top folder) or is still packed."""
    if not root.is_dir():
        return ""
    nested = [p for p in sorted(root.iterdir()) if p.is_dir() and any((p / m).exists() for m in markers)]
    if nested:
        return f" (did you mean {nested[0]}?)"
    archives = [p.name for p in sorted(root.iterdir()) if p.name.endswith((".zip", ".tar.bz2", ".tar.gz"))]
    return f" ({archives[0]} is there but not unpacked)" if archives else ""
