"""LJSpeech-1.1, read from its layout as distributed, for single-speaker WaveNet training.

Ito and Johnson, "The LJ Speech Dataset" (2017, https://keithito.com/LJ-Speech-Dataset/):
13,100 clips of one reader, unpacked from ``LJSpeech-1.1.tar.bz2`` to

* ``metadata.csv``: ``id|transcription|normalized transcription`` rows, no
  header and no quoting (transcripts hold unbalanced ``"``);
* ``wavs/<id>.wav``: 22050 Hz mono 16-bit, ids like ``LJ001-0001``.

:func:`scan_ljspeech` lists the utterances (speaker "LJ", the normalized
transcript) for :func:`wavegen.data.corpora.prepare_corpus`; nothing is
downloaded and no audio is read.
"""

from __future__ import annotations

import csv
from pathlib import Path

from wavegen.data.locate import unpack_hint
from wavegen.data.utterances import Utterance
from wavegen.errors import DatasetError

LJSPEECH_SOURCE = "LJSpeech-1.1 is at https://keithito.com/LJ-Speech-Dataset/"


def scan_ljspeech(root: str | Path) -> list[Utterance]:
    """The utterances of LJSpeech-1.1 at ``root``, in ``metadata.csv`` order (speaker "LJ")."""
    root = Path(root)
    expected = f"expected {root}/metadata.csv and {root}/wavs/<id>.wav ({LJSPEECH_SOURCE})"
    metadata, wavs = root / "metadata.csv", root / "wavs"
    if not root.is_dir() or not metadata.is_file() or not wavs.is_dir():
        missing = "metadata.csv" if not metadata.is_file() else "wavs folder"
        problem = f"{root} has no {missing}" if root.is_dir() else f"{root} is not a folder"
        raise DatasetError(f"LJSpeech not found: {problem}{unpack_hint(root, 'metadata.csv')}; {expected}")
    try:
        with open(metadata, newline="", encoding="utf-8") as lines:
            rows = list(csv.reader(lines, delimiter="|", quoting=csv.QUOTE_NONE))
    except (UnicodeDecodeError, csv.Error) as error:
        raise DatasetError(f"LJSpeech at {root}: metadata.csv is unreadable ({error}); {expected}") from None
    utterances = []
    for line, row in enumerate(rows, start=1):
        if not row:
            continue
        if len(row) not in (2, 3) or not row[0]:
            raise DatasetError(f"LJSpeech at {root}: metadata.csv line {line} has {len(row)} fields, "
                               f"not id|transcription|normalized transcription; {expected}")
        # The normalized column spells numbers and abbreviations out: what a text front end wants.
        text = row[2] if len(row) == 3 and row[2] else row[1]
        utterances.append(Utterance(wavs / f"{row[0]}.wav", "LJ", text))
    if not utterances:
        raise DatasetError(f"LJSpeech at {root}: metadata.csv has no rows; {expected}")
    missing = [u.path for u in utterances if not u.path.is_file()]
    if missing:
        raise DatasetError(f"LJSpeech at {root}: {len(missing)} of {len(utterances)} metadata.csv rows have "
                           f"no audio file, the first is {missing[0]}; {expected}")
    return utterances
