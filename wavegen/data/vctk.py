"""VCTK, read from its layouts as distributed, for multi-speaker WaveNet training.

WaveNet (van den Oord et al., "WaveNet: A Generative Model for Raw Audio", 2016,
section 3.1) was trained on VCTK, conditioned on a speaker one-hot. The corpus
(Yamagishi, Veaux and MacDonald, https://doi.org/10.7488/ds/2645) comes in two
layouts, both read here:

* 0.92: ``wav48_silence_trimmed/p225/p225_001_mic1.flac`` and ``_mic2.flac``
  (two microphones; one is chosen);
* 0.80: ``wav48/p225/p225_001.wav``;

with transcripts in ``txt/p225/p225_001.txt`` (a few are missing). When both
audio folders are there, 0.92's is read. :func:`scan_vctk` lists the utterances
by speaker and name for :func:`wavegen.data.corpora.prepare_corpus`; nothing
is downloaded and no audio is read.
"""

from __future__ import annotations

import logging
from pathlib import Path

from wavegen.data.locate import unpack_hint
from wavegen.data.utterances import Utterance
from wavegen.errors import DatasetError

log = logging.getLogger(__name__)

VCTK_SOURCE = "VCTK is on Edinburgh DataShare, https://doi.org/10.7488/ds/2645"
VCTK_LAYOUTS = ("wav48_silence_trimmed", "wav48")        # 0.92 first: preferred when both are there
VCTK_MICS = ("mic1", "mic2")


def scan_vctk(root: str | Path, mic: str = "mic1") -> list[Utterance]:
    """The utterances of VCTK 0.92 (one ``mic``) or 0.80 at ``root``, by speaker and name."""
    root = Path(root)
    if mic not in VCTK_MICS:
        raise DatasetError(f"unknown VCTK microphone {mic!r}; choose one of {', '.join(VCTK_MICS)}")
    expected = (f"expected {root}/wav48_silence_trimmed/<speaker>/<speaker>_<nnn>_mic1.flac (VCTK 0.92) "
                f"or {root}/wav48/<speaker>/<speaker>_<nnn>.wav (VCTK 0.80), with transcripts in "
                f"{root}/txt/<speaker>/ ({VCTK_SOURCE})")
    layout = next((name for name in VCTK_LAYOUTS if (root / name).is_dir()), None)
    if layout is None:
        problem = f"{root} is not a folder" if not root.is_dir() else f"{root} has neither wav48 folder"
        raise DatasetError(f"VCTK not found: {problem}{unpack_hint(root, *VCTK_LAYOUTS)}; {expected}")
    suffix, pattern = ("_" + mic, f"*_{mic}.flac") if layout == VCTK_LAYOUTS[0] else ("", "*.wav")
    utterances = []
    speaker_folders = (p for p in (root / layout).iterdir() if p.is_dir() and not p.name.startswith("."))
    for folder in sorted(speaker_folders):
        files = sorted(p for p in folder.glob(pattern) if not p.name.startswith("."))
        if not files:
            log.warning("VCTK at %s: speaker folder %s has no %s files; skipped", root, folder.name, pattern)
        for path in files:
            transcript = root / "txt" / folder.name / f"{path.stem.removesuffix(suffix)}.txt"
            text = transcript.read_text(errors="replace").strip() if transcript.is_file() else None
            utterances.append(Utterance(path, folder.name, text))
    if not utterances:
        raise DatasetError(f"VCTK at {root}: no {pattern} files in the {layout} speaker folders; {expected}")
    return utterances
