"""The folder an embedded demo corpus is written into: claimed with a marker, never taken from a real corpus.

The demo writers (:mod:`~wavegen.data.demo` for the VoiceBank-DEMAND, LJSpeech
and VCTK layouts, :mod:`~wavegen.data.sc09_demo` for Speech Commands) write a
real corpus's layout into a folder the user names. ``.wavegen_demo.json`` in
that folder records the writer's arguments and whether it finished:
:func:`claim_demo_root` says whether the folder already holds that exact corpus,
and otherwise clears what an earlier run left and claims the folder;
:func:`mark_demo_complete` is called last, so an interrupted run is written
again next time. Files of the layout found without the marker are someone's
real corpus and are never overwritten.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from wavegen.core.files import write_text_atomic
from wavegen.errors import DatasetError

DEMO_MARKER = ".wavegen_demo.json"
DEMO_VERSION = 2                    # 2: spoken by eSpeak NG (1: formant buzz)


def claim_demo_root(root: Path, params: dict, owned: list[str], layout: str) -> bool:
    """True if the marker says ``root`` is complete with ``params``; else clear ``owned`` and mark it ours.

    ``owned`` are the top-level names the demo writes; found without our marker
    they are a real corpus (or the user's files), which is never overwritten:
    a :class:`DatasetError` naming ``layout`` ("LJSpeech files") is raised.
    """
    marker = root / DEMO_MARKER
    try:
        previous = json.loads(marker.read_text()) if marker.is_file() else None
    except (OSError, ValueError):
        previous = {}                    # our marker, unreadable: regenerate
    if previous == _marker(params, complete=True):
        return True
    if previous is None and any((root / name).exists() for name in owned):
        raise DatasetError(f"{root} already holds {layout} that the demo did not write; "
                           "refusing to overwrite them (choose an empty folder for the demo corpus)")
    for path in (root / name for name in owned):
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    write_text_atomic(marker, json.dumps(_marker(params, complete=False)))
    return False


def mark_demo_complete(root: Path, params: dict) -> None:
    """Record that the demo corpus of ``params`` at ``root`` is complete: the writer's last step."""
    write_text_atomic(root / DEMO_MARKER, json.dumps(_marker(params, complete=True)))


def _marker(params: dict, complete: bool) -> dict:
    return {"complete": complete, "version": DEMO_VERSION, **params}
