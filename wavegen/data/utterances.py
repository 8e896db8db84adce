"""What a speech-corpus scanner returns, and the scanner of the plainest layout: a folder of audio files.

Every scanner (:func:`~wavegen.data.ljspeech.scan_ljspeech`,
:func:`~wavegen.data.vctk.scan_vctk`, :func:`scan_folder`) lists a corpus as
:class:`Utterance` records, one per source file, without reading any audio;
:func:`wavegen.data.corpora.prepare_corpus` packs them into its cache.
:func:`scan_folder` reads any folder of ``.wav``, ``.flac`` or ``.ogg`` files at
any depth, the speaker being the sub-folder a file is in (the root's own name
for files directly in it), with no transcripts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from wavegen.audio.io import find_audio_files
from wavegen.errors import DatasetError


@dataclass(frozen=True)
class Utterance:
    """One source file of a corpus, its speaker and (when the corpus has one) its transcript."""
    path: Path
    speaker: str
    text: str | None


def scan_folder(root: str | Path) -> list[Utterance]:
    """Every audio file under ``root``; the speaker is its folder relative to ``root`` (or root's name)."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"audio folder not found: {root} is not a folder")
    files = [p for p in find_audio_files([root]) if not p.name.startswith(".")]
    if not files:
        raise DatasetError(f"{root} holds no audio files (.wav, .flac or .ogg, searched recursively)")
    speakers = (p.parent.relative_to(root).as_posix() for p in files)
    return [Utterance(p, root.name if s == "." else s, None) for p, s in zip(files, speakers)]
