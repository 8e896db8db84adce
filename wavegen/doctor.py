"""Is this installation whole? Every compiled dependency exercised the way wavegen uses it.

A broken install (for example torchaudio 2.11.1, built for a newer torch, beside
torch 2.11.0: ``undefined symbol: torch_exception_get_what_without_backtrace``)
otherwise shows up as a traceback deep inside whatever command ran first. Here
each check says in one line which package is wrong and what fixes it. The test
suite runs these checks before anything else (``tests/conftest.py``) and
``wavegen doctor`` prints them.

Checks, in order: torch, torchaudio (a real resample), soundfile (write and
read back WAV and FLAC), pesq (its C extension on a speech-like signal),
pystoi, the espeak-ng library that speaks the demo corpora, the fused WaveNet
CPU kernel where the install compiled it, and every other requirement's
installed version against wavegen's own pins. A package installed at a version
outside the pins is reported once, with what failed when it was used.
"""

from __future__ import annotations

import importlib.metadata
import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FIX = "reinstall the locked set: `make install` in the repository (or `pip install -c requirements.lock -e .`)"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{self.name}: {'ok' if self.ok else 'BROKEN'} ({self.detail})"


def run_checks() -> list[Check]:
    """Every check, in order; each one runs even if an earlier one failed."""
    wrong = _version_problems()
    checks = []
    for name, probe in _CHECKS:
        check = _run(name, probe)
        if name in wrong:     # the version is the cause; what broke is the symptom
            check = Check(name, False, wrong.pop(name) + ("" if check.ok else f" ({check.detail})"))
        checks.append(check)
    checks += [Check(name, False, problem) for name, problem in wrong.items()]
    if not wrong:
        checks.append(Check("other requirements", True, "installed at versions wavegen allows"))
    return checks


def failures(checks: list[Check]) -> list[str]:
    """One line per broken package, naming it and the likely fix."""
    return [f"broken install: {c.name}: {c.detail}; {FIX}" for c in checks if not c.ok]


def _run(name: str, probe: Callable[[], str]) -> Check:
    try:
        return Check(name, True, probe())
    except Exception as exc:   # any failure of a dependency is what this reports
        text = str(exc).strip().splitlines()
        return Check(name, False, f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": "))


# ---------------------------------------------------------------- the checks

def _version_problems() -> dict[str, str]:
    """{package: problem} for each of wavegen's requirements not installed at a version it allows."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
    wrong = {}
    for requirement in map(Requirement, importlib.metadata.requires("wavegen") or []):
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue                                     # an optional extra (test tools)
        name = canonicalize_name(requirement.name)
        try:
            installed = importlib.metadata.version(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            wrong[name] = f"{requirement.name} is not installed"
            continue
        if not requirement.specifier.contains(installed, prereleases=True):
            wrong[name] = (f"{requirement.name} {installed} is installed but wavegen needs "
                           f"{requirement.name}{requirement.specifier}")
    return wrong


def _torch() -> str:
    import torch
    x = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    if float((x @ x.T).trace()) != 1.0 * sum(v * v for v in range(12)):
        raise RuntimeError("a 3x4 matrix product came out wrong")
    return f"torch {torch.__version__}"


def _torchaudio() -> str:
    from wavegen.audio.io import resample
    tone = _tone(48000, 0.5)
    down = resample(tone, 48000, 16000).numpy()
    if down.shape != (8000,) or abs(_rms(down) - _rms(tone)) > 0.01:
        raise RuntimeError("resampling a 440 Hz tone from 48 to 16 kHz changed its level or length")
    return f"torchaudio {importlib.metadata.version('torchaudio')}, resample 48 -> 16 kHz"


def _soundfile() -> str:
    import soundfile as sf
    tone = _tone(16000, 0.25)
    with tempfile.TemporaryDirectory() as folder:
        for suffix in (".wav", ".flac"):
            path = str(Path(folder) / f"tone{suffix}")
            sf.write(path, tone, 16000, subtype="PCM_16")
            back, rate = sf.read(path, dtype="float32")
            if rate != 16000 or back.shape != tone.shape or np.abs(back - tone).max() > 1e-4:
                raise RuntimeError(f"a {suffix} file did not read back as written")
    return f"soundfile {sf.__version__}, libsndfile {sf.__libsndfile_version__}"


def _pesq() -> str:
    import pesq
    speech = _speech_like(16000, 2.0)
    score = pesq.pesq(16000, speech, speech, "wb")
    if not 4.0 < score <= 4.65:
        raise RuntimeError(f"PESQ of a signal against itself is {score}, expected about 4.64")
    return f"pesq {importlib.metadata.version('pesq')}, identical signals score {score:.2f}"


def _pystoi() -> str:
    import pystoi
    speech = _speech_like(16000, 2.0)
    score = pystoi.stoi(speech, speech, 16000)
    if not score > 0.99:
        raise RuntimeError(f"STOI of a signal against itself is {score}, expected 1")
    return f"pystoi {importlib.metadata.version('pystoi')}"


def _espeak() -> str:
    import ctypes

    import espeakng_loader
    library = ctypes.CDLL(espeakng_loader.get_library_path())
    info = library.espeak_Info
    info.restype = ctypes.c_char_p
    version = info(None).decode()
    data = Path(espeakng_loader.get_data_path())
    if not (data / "voices" / "!v").is_dir():
        raise RuntimeError(f"{data} holds no voice variants")
    return f"libespeak-ng {version}"


def _wavenet_kernel() -> str:
    import torch

    from wavegen.audio.wavenet.kernels import cpu
    from wavegen.audio.wavenet.model import WAVENET_CONFIGS, WaveNet
    from wavegen.audio.wavenet.sampling import generate
    from wavegen.core.autoregressive import make_draws
    if not cpu.available():
        return "not built (no C compiler at install time): --path fused on the CPU is unavailable"
    torch.manual_seed(0)
    model = WaveNet(**WAVENET_CONFIGS["tiny"]).eval()
    draws = make_draws(2, 64, model.output.draws_per_step, seed=0)
    fused = generate(model, draws, path="fused")
    cached = generate(model, draws, path="cached")
    if not torch.equal(fused, cached):
        raise RuntimeError("the fused C loop and the cached PyTorch path drew different samples")
    return "fused C loop matches the cached path"


_CHECKS: list[tuple[str, Callable[[], str]]] = [
    ("torch", _torch), ("torchaudio", _torchaudio),
    ("soundfile", _soundfile), ("pesq", _pesq), ("pystoi", _pystoi), ("espeakng-loader", _espeak),
    ("wavenet CPU kernel", _wavenet_kernel),
]


# ---------------------------------------------------------------- test signals

def _tone(rate: int, seconds: float) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (0.3 * np.sin(2 * math.pi * 440 * t)).astype(np.float32)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x))))


def _speech_like(rate: int, seconds: float) -> np.ndarray:
    """Glottal-like pulses at a gliding pitch through two resonances, in syllable-rate bursts."""
    import scipy.signal
    t = np.arange(int(rate * seconds)) / rate
    pulses = (np.diff(np.floor(np.cumsum((120 + 20 * np.sin(2 * math.pi * t)) / rate)), prepend=0) > 0) * 1.0
    for centre, bandwidth in ((700, 90), (1800, 150)):
        radius = math.exp(-math.pi * bandwidth / rate)
        pulses = scipy.signal.lfilter([1 - radius], [1, -2 * radius * math.cos(2 * math.pi * centre / rate),
                                                     radius ** 2], pulses)
    envelope = np.clip(np.sin(2 * math.pi * 3 * t), 0, None)
    noise = 1e-3 * np.random.default_rng(0).standard_normal(t.size)
    signal = pulses * envelope + noise
    return 0.5 * signal / np.abs(signal).max()
