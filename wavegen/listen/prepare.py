"""A test's results folder: its stimuli as served, the MUSHRA anchors, the test as run, a secret.

``prepare_test(design, folder)`` writes ``folder/audio/<trial>/<key>.wav`` (each trial
at one sample rate and, where stimuli are compared, one length, so that switching
between them keeps the playback position), ``test.json`` and ``secret``. Running it again on the
same test reuses the folder (the answers stay); a different test in the same
folder is refused, so no answers are ever mixed or lost.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wavegen.audio.io import read_audio, resample, write_audio
from wavegen.core.files import write_json_atomic
from wavegen.errors import WavegenError
from wavegen.listen.design import (ANCHOR_CUTOFF_HZ, HIDDEN_REFERENCE, LOW_ANCHOR, MID_ANCHOR, TestDesign,
                                   stimulus_key)

REFERENCE_KEY = "ref"


@dataclass
class PreparedTest:
    """The test as served: ``trials[i]`` = {name, reference (file or None), stimuli: [{key, system, file}]}."""
    folder: Path
    name: str
    type: str
    instructions: str
    trials: list[dict]
    secret: str

    @classmethod
    def open(cls, folder: str | Path) -> "PreparedTest":
        folder = Path(folder)
        try:
            spec = json.loads((folder / "test.json").read_text())
            secret = (folder / "secret").read_text().strip()
            return cls(folder, spec["name"], spec["type"], spec["instructions"], spec["trials"], secret)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise WavegenError(f"{folder}: not a listening-test results folder ({type(exc).__name__}: "
                               f"{exc})") from None

    @property
    def database(self) -> Path:
        return self.folder / "answers.sqlite"

    def audio_file(self, trial: int, key: str) -> Path | None:
        """The file behind ``/audio/<trial>/<key>``, or None: only the test's own files are ever served."""
        if not 0 <= trial < len(self.trials):
            return None
        entry = self.trials[trial]
        if key == REFERENCE_KEY:
            name = entry["reference"]
        else:
            name = next((s["file"] for s in entry["stimuli"] if s["key"] == key), None)
        return self.folder / name if name else None


def is_results_folder(path: Path) -> bool:
    return path.is_dir() and (path / "test.json").is_file() and (path / "secret").is_file()


def design_digest(design: TestDesign) -> str:
    """Changes when the test changes: type, trials, systems, anchors and every file's bytes."""
    h = hashlib.sha256(json.dumps([design.type, design.mid_anchor]).encode())
    for trial in design.trials:
        h.update(json.dumps([trial.name, sorted(trial.stimuli)]).encode())
        for path in [trial.reference, *(trial.stimuli[s] for s in sorted(trial.stimuli))]:
            h.update(hashlib.sha256(path.read_bytes()).digest() if path else b"-")
    return h.hexdigest()


def prepare_test(design: TestDesign, folder: str | Path) -> PreparedTest:
    """Write (or reuse) the results folder for ``design``; see the module docstring."""
    folder = Path(folder)
    digest = design_digest(design)
    if folder.exists() and not folder.is_dir():
        raise WavegenError(f"{folder}: is a file, not a results folder; choose another --results")
    if (folder / "test.json").exists():
        existing = _read_spec(folder / "test.json")
        if existing.get("digest") != digest:
            raise WavegenError(f"{folder}: holds the answers of a different test ({existing.get('name')}); "
                               f"choose another --results folder")
        return PreparedTest.open(folder)
    if folder.exists() and any(folder.iterdir()):
        raise WavegenError(f"{folder}: exists and is not a listening-test results folder; choose another --results")
    # Prepared beside the target and renamed into place: an interrupted preparation leaves nothing behind.
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        secret = secrets.token_hex(16)
        trials = [_prepare_trial(design, i, secret, staging) for i in range(len(design.trials))]
        (staging / "secret").write_text(secret + "\n")
        (staging / "secret").chmod(0o600)
        write_json_atomic(staging / "test.json", {"name": design.name, "type": design.type, "digest": digest,
                                                  "instructions": design.instructions,
                                                  "source": str(design.source), "trials": trials})
        if folder.exists():
            folder.rmdir()
        staging.rename(folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return PreparedTest.open(folder)


def _read_spec(path: Path) -> dict:
    """A results folder's test.json, or a one-line error: never replaced, never a traceback."""
    try:
        spec = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WavegenError(f"{path}: unreadable ({exc}); choose another --results folder") from None
    if not isinstance(spec, dict):
        raise WavegenError(f"{path}: not a listening test's description; choose another --results folder")
    return spec


def _prepare_trial(design: TestDesign, index: int, secret: str, folder: Path) -> dict:
    trial = design.trials[index]
    sources = {system: read_audio(path) for system, path in trial.stimuli.items()}
    reference = read_audio(trial.reference) if trial.reference else None
    rate = reference[1] if reference else next(iter(sources.values()))[1]
    signals = {s: resample(a, sr, rate).numpy() for s, (a, sr) in sources.items()}
    ref_signal = resample(reference[0], reference[1], rate).numpy() if reference else None
    if design.type == "mushra":
        signals[HIDDEN_REFERENCE] = ref_signal
        for anchor in (LOW_ANCHOR, MID_ANCHOR) if design.mid_anchor else (LOW_ANCHOR,):
            signals[anchor] = low_pass(ref_signal, rate, ANCHOR_CUTOFF_HZ[anchor])
    everything = [*signals.values(), *([ref_signal] if ref_signal is not None else [])]
    channels = {a.shape[0] for a in everything}
    # One length where stimuli are compared (MUSHRA, AB, ABX): switching keeps the position, and in ABX
    # a length would tell X apart.
    length = max(a.shape[1] for a in everything) if design.type != "acr" else None
    fit = lambda a: _fit(a, 1 if len(channels) > 1 else a.shape[0], length)   # noqa: E731
    out = folder / "audio" / str(index)
    stimuli = []
    for system, audio in signals.items():
        key = stimulus_key(secret, trial.name, system)
        write_audio(out / f"{key}.wav", fit(audio), rate, subtype="PCM_16")
        stimuli.append({"key": key, "system": system, "file": f"audio/{index}/{key}.wav"})
    entry = {"name": trial.name, "reference": None, "stimuli": stimuli}
    if ref_signal is not None:
        write_audio(out / f"{REFERENCE_KEY}.wav", fit(ref_signal), rate, subtype="PCM_16")
        entry["reference"] = f"audio/{index}/{REFERENCE_KEY}.wav"
    return entry


def _fit(audio: np.ndarray, channels: int, length: int | None) -> np.ndarray:
    """Mixed down to mono where the trial's files disagree on channels; zero-padded to ``length``."""
    if audio.shape[0] != channels:
        audio = audio.mean(axis=0, keepdims=True)
    if length is not None and audio.shape[1] < length:
        audio = np.pad(audio, ((0, 0), (0, length - audio.shape[1])))
    return np.clip(audio, -1.0, 1.0)


def low_pass(audio: np.ndarray, sample_rate: int, cutoff_hz: float) -> np.ndarray:
    """The BS.1534-3 anchor: the reference low-passed at ``cutoff_hz`` (zero-phase 8th-order Butterworth, twice)."""
    from scipy.signal import butter, sosfiltfilt
    if cutoff_hz >= sample_rate / 2:
        return audio.copy()                 # nothing above the cut-off to remove
    sos = butter(8, cutoff_hz, fs=sample_rate, output="sos")
    return sosfiltfilt(sos, audio, axis=-1).astype(np.float32)
