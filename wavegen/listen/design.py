"""What a listening test is: its type, its trials and their stimuli, read from a file or a samples folder.

A test file (YAML or JSON)::

    name: segan-demo
    type: mushra                 # mushra (ITU-R BS.1534-3) | acr (ITU-T P.800) | ab | abx
    instructions: Rate how close each version sounds to the reference.
    mid_anchor: false            # MUSHRA: add the optional 7 kHz low-pass anchor
    trials:
      - name: p232_001
        reference: segan-demo/p232_001_clean.wav
        stimuli: {noisy: segan-demo/p232_001_noisy.wav, enhanced: segan-demo/p232_001_enhanced.wav}

Paths are relative to the file. A samples folder works without a file: every
``<item>_<system>.wav`` (in the folder or its subfolders, one per task) is a
stimulus; the system named ``clean``, ``original`` or ``reference`` is the
item's reference. MUSHRA makes one trial per item with a reference (the other
systems, the hidden reference and the 3.5 kHz anchor as stimuli); ACR rates
every file on its own; AB pairs every two systems of an item, with the
reference, where there is one, to compare against; ABX takes the same pairs and
asks which of the two a third playback, X (one of them at random), is.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from wavegen.audio.io import AUDIO_EXTENSIONS
from wavegen.errors import WavegenError

TYPES = ("mushra", "acr", "ab", "abx")
PAIRED = ("ab", "abx")               # trials of exactly two stimuli, answered by a choice
REFERENCE_NAMES = ("clean", "original", "reference")
MUSHRA_MAX_STIMULI = 12                     # BS.1534-3 §5.1: no more than 12 signals per trial
HIDDEN_REFERENCE = "reference"
LOW_ANCHOR, MID_ANCHOR = "anchor-3.5kHz", "anchor-7kHz"
ANCHOR_CUTOFF_HZ = {LOW_ANCHOR: 3500.0, MID_ANCHOR: 7000.0}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass
class Trial:
    """One page of the test: the stimuli to rate (system → file) and, where there is one, the reference."""
    name: str
    stimuli: dict[str, Path]
    reference: Path | None = None


@dataclass
class TestDesign:
    name: str
    type: str
    trials: list[Trial]
    instructions: str = ""
    mid_anchor: bool = False
    source: Path = field(default=Path("."))

    @property
    def systems(self) -> list[str]:
        return sorted({s for t in self.trials for s in t.stimuli})


def default_instructions(kind: str) -> str:
    return {
        "mushra": "Listen to the reference, then rate every version from 0 (bad) to 100 (excellent) by how "
                  "close it is to the reference. One of them is the reference itself: rate it 100.",
        "acr": "Listen to the recording and rate its overall quality from 1 (bad) to 5 (excellent).",
        "ab": "Listen to both versions (and the reference, where there is one) and choose the one you prefer.",
        "abx": "Listen to A, B and X. X is either A or B: say which.",
    }[kind]


def load_design(source: str | Path, kind: str | None = None) -> TestDesign:
    """A test from a YAML/JSON file or from a samples folder (``kind`` defaults to the file's, or MUSHRA)."""
    source = Path(source)
    if source.is_dir():
        return design_from_folder(source, kind or "mushra")
    if not source.is_file():
        raise WavegenError(f"{source}: no such test file or samples folder")
    return design_from_file(source, kind)


def design_from_file(path: Path, kind: str | None = None) -> TestDesign:
    import yaml
    try:
        spec = yaml.safe_load(path.read_text()) if path.suffix.lower() in (".yaml", ".yml") \
            else json.loads(path.read_text())
    except (yaml.YAMLError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise WavegenError(f"{path}: not a readable test file ({str(exc).splitlines()[0]})") from None
    if not isinstance(spec, dict):
        raise WavegenError(f"{path}: expected a mapping with 'type' and 'trials'")
    unknown = set(spec) - {"name", "type", "instructions", "mid_anchor", "trials"}
    if unknown:
        raise WavegenError(f"{path}: unknown keys {', '.join(sorted(unknown))}")
    kind = kind or spec.get("type", "mushra")
    if kind not in TYPES:
        raise WavegenError(f"{path}: unknown test type {kind!r} (expected {', '.join(TYPES)})")
    trials = []
    for i, entry in enumerate(spec.get("trials") or []):
        if not isinstance(entry, dict) or not isinstance(entry.get("stimuli"), dict):
            raise WavegenError(f"{path}: trial {i + 1} needs 'stimuli' (system: file)")
        resolve = (lambda p: _inside(path.parent, p, path))
        trials.append(Trial(name=str(entry.get("name", f"trial-{i + 1}")),
                            stimuli={str(k): resolve(v) for k, v in entry["stimuli"].items()},
                            reference=resolve(entry["reference"]) if entry.get("reference") else None))
    design = TestDesign(name=str(spec.get("name", path.stem)), type=kind, trials=trials,
                        instructions=str(spec.get("instructions") or default_instructions(kind)),
                        mid_anchor=bool(spec.get("mid_anchor", False)), source=path)
    check_design(design)
    return design


def _inside(root: Path, relative, spec_path: Path) -> Path:
    """A file named by the test file: relative to it, and within its folder (nothing else is served)."""
    if not isinstance(relative, str) or not relative:
        raise WavegenError(f"{spec_path}: expected a file name, got {relative!r}")
    path = (root / relative).resolve()
    if not path.is_relative_to(root.resolve()):
        raise WavegenError(f"{spec_path}: {relative} lies outside the test file's folder")
    if not path.is_file():
        raise WavegenError(f"{spec_path}: {relative}: no such file")
    return path


def scan_samples(folder: Path) -> dict[str, dict[str, dict[str, Path]]]:
    """{task: {item: {system: file}}} for every ``<item>_<system>`` audio file under ``folder``."""
    tasks: dict[str, dict[str, dict[str, Path]]] = {}
    for path in sorted(folder.rglob("*")):
        if path.suffix.lower() not in AUDIO_EXTENSIONS or not path.is_file() or path.name.startswith("."):
            continue
        item, sep, system = path.stem.rpartition("_")
        if not sep or not item or not system:
            continue
        task = path.parent.relative_to(folder).as_posix()
        task = folder.name if task == "." else task
        tasks.setdefault(task, {}).setdefault(item, {})[system] = path
    return tasks


def design_from_folder(folder: Path, kind: str) -> TestDesign:
    tasks = scan_samples(folder)
    if not tasks:
        raise WavegenError(f"{folder}: no <item>_<system>.wav files to test")
    trials = []
    for task, items in tasks.items():
        for item, files in items.items():
            ref_name = next((n for n in REFERENCE_NAMES if n in files), None)
            reference = files.get(ref_name) if ref_name else None
            others = {s: p for s, p in files.items() if s != ref_name}
            label = f"{task}/{item}"
            if kind == "mushra" and reference is not None and others:
                trials.append(Trial(label, others, reference))
            elif kind == "acr":
                trials += [Trial(f"{label}/{s}", {s: p}) for s, p in files.items()]
            elif kind in PAIRED:
                trials += [Trial(f"{label}/{a}-vs-{b}", {a: others[a], b: others[b]},
                                 reference if kind == "ab" else None)
                           for a, b in itertools.combinations(sorted(others), 2)]
    if not trials:
        pair = "an item with two systems besides its reference"
        need = {"mushra": "an item with a reference (…_clean, …_original or …_reference) and another system",
                "ab": pair, "abx": pair, "acr": "an audio file"}[kind]
        raise WavegenError(f"{folder}: nothing for a {kind.upper()} test: needs {need}")
    design = TestDesign(name=folder.resolve().name, type=kind, trials=trials,
                        instructions=default_instructions(kind), source=folder)
    check_design(design)
    return design


def check_design(design: TestDesign) -> None:
    """Refuse a test that cannot run: unknown type, no trials, a misnamed system, too many stimuli."""
    where = design.source
    if design.type not in TYPES:
        raise WavegenError(f"{where}: unknown test type {design.type!r} (expected {', '.join(TYPES)})")
    if not design.trials:
        raise WavegenError(f"{where}: the test has no trials")
    names = [t.name for t in design.trials]
    if len(set(names)) != len(names):
        raise WavegenError(f"{where}: trial names repeat ({sorted({n for n in names if names.count(n) > 1})[0]})")
    reserved = {HIDDEN_REFERENCE, LOW_ANCHOR, MID_ANCHOR}
    for trial in design.trials:
        for system in trial.stimuli:
            if not _NAME.match(system) or (design.type == "mushra" and system in reserved):
                raise WavegenError(f"{where}: trial {trial.name}: system name {system!r} is not allowed "
                                   f"(letters, digits, '.', '_', '-'; not {', '.join(sorted(reserved))})")
        if design.type == "mushra":
            if trial.reference is None:
                raise WavegenError(f"{where}: trial {trial.name}: MUSHRA needs a reference")
            count = len(trial.stimuli) + 2 + design.mid_anchor
            if count > MUSHRA_MAX_STIMULI:
                raise WavegenError(f"{where}: trial {trial.name}: {count} stimuli with the hidden reference and "
                                   f"anchors; BS.1534-3 allows at most {MUSHRA_MAX_STIMULI}")
        elif design.type == "acr" and len(trial.stimuli) != 1:
            raise WavegenError(f"{where}: trial {trial.name}: an ACR trial rates exactly one stimulus")
        elif design.type in PAIRED and len(trial.stimuli) != 2:
            raise WavegenError(f"{where}: trial {trial.name}: an {design.type.upper()} trial compares exactly "
                               f"two stimuli")


def stimulus_key(secret: str, trial: str, system: str) -> str:
    """An opaque name for a stimulus, the same for every participant: the page never shows the system."""
    return hashlib.sha256(f"{secret}\0{trial}\0{system}".encode()).hexdigest()[:12]
