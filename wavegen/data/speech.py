"""Speech from a real text-to-speech engine: eSpeak NG, driven through its C API with ctypes.

eSpeak NG (J. Duddington's eSpeak, continued by R. Dunn and others;
https://github.com/espeak-ng/espeak-ng, release 1.52, GPL-3.0) is a compact
formant synthesiser: text goes through pronunciation rules and a dictionary to
phonemes, an intonation model gives each clause a pitch contour, vowels are
rendered from stored formant sequences and most unvoiced consonants from short
recorded noise samples (eSpeak NG docs: phonemes.md, voices.md). Its shared library and data come from the
``espeakng-loader`` wheel (``get_library_path()``, ``get_data_path()``), so no
system package is needed. The calls follow ``speak_lib.h``:
``espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, path, espeakINITIALIZE_DONT_EXIT)``,
a synth callback that receives int16 samples and word events,
``espeak_SetVoiceByName("<language>+<variant>")``, ``espeak_SetParameter`` for
rate, pitch, pitch range and volume, then ``espeak_Synth``.

**Determinism.** eSpeak NG keeps state in static variables from one
utterance to the next, and offers no reset for it. So the same text and voice
came out different on every call (the waveforms part after a few ms): the
*flutter* (a slow pitch wobble read from a table through an index that keeps
running across utterances) is one cause -- variants with ``flutter 0`` were
repeatable at some settings -- but with flutter off, other pitches, rates and
accents still drifted, and the random generator behind breath noise carries on
too. ``espeak_Terminate`` followed by ``espeak_Initialize`` does not help. We therefore load the library afresh for
each utterance -- load, initialise, speak, terminate, unload (about 2 ms) --
and seed its random generator (``espeak_ng_SetRandSeed``), so an utterance
depends only on (text, voice, seed), whatever was spoken before. The library
loaded is a private copy, so that nobody else's handle on the shipped file (say
``wavegen doctor``'s) keeps it in memory. (This needs a platform whose
``dlclose`` really unloads, as glibc's does; a test checks it.)

**Voices.** A speaker is a shipped accent (``lang/gmw/en*``) and voice variant
(``voices/!v``: formant frequency, height and width scales, pitch, breath, echo),
with formants 1-8 rescaled by the speaker's vocal-tract factor. eSpeak looks
variants up only beside its data, so the library runs on a private data folder:
links to the shipped data plus our ``voices/!v``.

The library is not thread-safe and keeps global state, so every call holds one
process-wide lock.
"""

from __future__ import annotations

import _ctypes
import atexit
import ctypes
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.signal

from wavegen.audio.io import resample
from wavegen.core.files import write_text_atomic
from wavegen.errors import WavegenError

log = logging.getLogger(__name__)

ENGINE_RATE = 22_050               # what eSpeak NG speaks at
# English accents that ship with eSpeak NG 1.52 (lang/gmw/en*): British (the default),
# Received Pronunciation, Scottish, Lancaster, West Midlands, American, New York, Caribbean.
ACCENTS = ("en", "en-gb-x-rp", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-gbcwmd",
           "en-us", "en-us-nyc", "en-029")
# Shipped voice variants (voices/!v) that sound like ordinary adult voices: the numbered
# male and female sets and a few named ones; novelty voices (robots, whisper, croak) are left out.
VARIANTS = {"M": ("m1", "m2", "m3", "m4", "m5", "m6", "john", "Denis"),
            "F": ("f1", "f2", "f3", "f4", "f5", "belinda", "linda", "Annie")}
_ESPEAK_FORMANTS = 9               # a variant's "formant k freq% height% width%" lines, k = 0..8


@dataclass(frozen=True)
class Voice:
    """One speaker: an eSpeak accent and variant, reshaped into a voice of its own.

    ``formant_scale`` multiplies formants 1-8 (a shorter vocal tract above 1);
    ``pitch`` and ``pitch_range`` are eSpeak's 0-100 settings (50 keeps the
    variant's own base pitch and range); ``rate`` is in words per minute;
    ``tilt_db`` is the gain of a gentle high shelf above ~1.5 kHz (voice quality:
    negative is softer, positive more pressed), ``presence_db`` of a broad peak at
    ``presence_hz``.
    """
    accent: str = "en-us"
    variant: str = "m3"
    formant_scale: float = 1.0
    pitch: int = 50
    pitch_range: int = 50
    rate: int = 165
    tilt_db: float = 0.0
    presence_db: float = 0.0
    presence_hz: float = 2500.0


def random_voice(rng: np.random.Generator, sex: str) -> Voice:
    """A voice drawn for a speaker of ``sex`` ("M" or "F"): accent, variant, pitch, rate and colour."""
    if sex not in VARIANTS:
        raise ValueError(f"sex must be 'M' or 'F', not {sex!r}")
    return Voice(accent=str(rng.choice(ACCENTS)), variant=str(rng.choice(VARIANTS[sex])),
                 formant_scale=round(float(rng.uniform(0.95, 1.05)), 3),
                 pitch=int(rng.integers(40, 76) if sex == "M" else rng.integers(30, 66)),
                 pitch_range=int(rng.integers(50, 96)),
                 rate=int(rng.integers(145, 186)), tilt_db=round(float(rng.uniform(-4, 2)), 2),
                 presence_db=round(float(rng.uniform(-2, 3)), 2),
                 presence_hz=round(float(rng.uniform(2000, 3500)), -1))


@dataclass(frozen=True)
class Speech:
    """Spoken text: mono float32 audio (silence trimmed to a few ms), and where each word starts."""
    audio: np.ndarray
    sample_rate: int
    words: tuple[tuple[float, str], ...]        # (start in seconds, word as written)

    @property
    def seconds(self) -> float:
        return self.audio.size / self.sample_rate


def speak(text: str, voice: Voice = Voice(), sample_rate: int | None = None, *, seed: int = 0) -> Speech:
    """``text`` spoken by ``voice`` at ``sample_rate`` (the engine's :data:`ENGINE_RATE` by default).

    Deterministic for (text, voice, seed), whatever was spoken before. Leading
    and trailing silence is trimmed to 10 ms; the level is the engine's (peaks
    below 1), the caller normalises.
    """
    engine = _engine()
    with _LOCK:
        samples, events = engine.synthesize(text, voice, seed)
    rate = engine.sample_rate
    audio = _colour(samples.astype(np.float64) / 32768.0, voice, rate)
    start, stop = _speech_bounds(audio, rate)
    audio = audio[start:stop]
    words = tuple((max(ms / 1000 - start / rate, 0.0), text[pos - 1:pos - 1 + length])
                  for ms, pos, length in events)
    if sample_rate is not None and sample_rate != rate:
        audio = resample(audio, rate, sample_rate).numpy()
        rate = sample_rate
    return Speech(np.asarray(audio, dtype=np.float32), rate, words)


# ---------------------------------------------------------------- post-processing

def _colour(audio: np.ndarray, voice: Voice, rate: int) -> np.ndarray:
    """The voice's high shelf and presence peak (biquads of Bristow-Johnson's Audio EQ Cookbook)."""
    sections = []
    if voice.tilt_db:
        sections.append(_high_shelf(1500.0, voice.tilt_db, rate))
    if voice.presence_db:
        sections.append(_peak(voice.presence_hz, voice.presence_db, 1.0, rate))
    return scipy.signal.sosfilt(np.array(sections), audio) if sections else audio


def _high_shelf(f0: float, gain_db: float, rate: int, slope: float = 0.5) -> np.ndarray:
    a, w0 = 10 ** (gain_db / 40), 2 * np.pi * f0 / rate
    alpha = np.sin(w0) / 2 * np.sqrt((a + 1 / a) * (1 / slope - 1) + 2)
    cos, root = np.cos(w0), 2 * np.sqrt(a) * alpha
    b = [a * ((a + 1) + (a - 1) * cos + root), -2 * a * ((a - 1) + (a + 1) * cos),
         a * ((a + 1) + (a - 1) * cos - root)]
    den = [(a + 1) - (a - 1) * cos + root, 2 * ((a - 1) - (a + 1) * cos), (a + 1) - (a - 1) * cos - root]
    return np.array(b + den) / den[0]


def _peak(f0: float, gain_db: float, q: float, rate: int) -> np.ndarray:
    a, w0 = 10 ** (gain_db / 40), 2 * np.pi * f0 / rate
    alpha = np.sin(w0) / (2 * q)
    den = [1 + alpha / a, -2 * np.cos(w0), 1 - alpha / a]
    return np.array([1 + alpha * a, -2 * np.cos(w0), 1 - alpha * a] + den) / den[0]


def _speech_bounds(audio: np.ndarray, rate: int, floor_db: float = -50.0) -> tuple[int, int]:
    """First and last sample of the speech (5 ms frames within ``floor_db`` of the loudest), 10 ms margins."""
    hop = rate // 200
    frames = audio[:audio.size // hop * hop].reshape(-1, hop)
    energy = np.mean(frames ** 2, axis=1) if frames.size else np.zeros(1)
    loud = np.flatnonzero(energy > energy.max() * 10 ** (floor_db / 10))
    if loud.size == 0:
        return 0, audio.size
    margin = rate // 100
    return max(loud[0] * hop - margin, 0), min((loud[-1] + 1) * hop + margin, audio.size)


# ---------------------------------------------------------------- the engine

_LOCK = threading.Lock()
_ENGINE: _Espeak | None = None
_INSTALL_HINT = "the demo corpora speak through the espeakng-loader package: pip install espeakng-loader"


def _engine() -> _Espeak:
    global _ENGINE
    with _LOCK:
        if _ENGINE is None:
            _ENGINE = _Espeak()
        return _ENGINE


class _Event(ctypes.Structure):
    """``espeak_EVENT`` of speak_lib.h (the union ``id`` is 8 bytes, a pointer or a string)."""
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint), ("text_position", ctypes.c_int),
                ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", ctypes.c_char * 8)]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))
_AUDIO_OUTPUT_SYNCHRONOUS, _DONT_EXIT = 2, 0x8000
_RATE, _VOLUME, _PITCH, _RANGE, _PUNCTUATION, _CAPITALS, _WORDGAP = 1, 2, 3, 4, 5, 6, 7
_EVENT_LIST_TERMINATED, _EVENT_WORD = 0, 1
_POS_CHARACTER, _CHARS_UTF8 = 1, 1
_ENGINE_VOLUME = 60                 # of 0-200; leaves the loudest variants room below full scale


class _Espeak:
    """The library's files, our private data folder with our variants, and the synth callback.

    The library itself is loaded afresh for every utterance (see :meth:`synthesize`).
    """

    def __init__(self):
        try:
            import espeakng_loader
            self.library = espeakng_loader.get_library_path()
            self.shipped = Path(espeakng_loader.get_data_path())
        except (ImportError, RuntimeError) as exc:
            raise WavegenError(f"cannot load the eSpeak NG speech engine ({_first_line(exc)}); "
                               f"{_INSTALL_HINT}") from None
        private = Path(tempfile.mkdtemp(prefix="wavegen-espeak-"))
        atexit.register(shutil.rmtree, private, ignore_errors=True)
        # A copy of the library of our own: loaded by another path it is another instance, which
        # only we hold, so unloading really discards it even if someone else loaded the shipped one.
        self.library = str(shutil.copy(self.library, private))
        self.data = private / "espeak-ng-data"
        _link_data(self.shipped, self.data)
        self.chunks: list[np.ndarray] = []
        self.events: list[tuple[int, int, int]] = []
        self.callback = _CALLBACK(self._receive)       # kept referenced while the library may call it
        self.variants: set[str] = set()
        with self._loaded() as (_, rate):               # fail here, once, if the library cannot load
            self.sample_rate = rate
        log.debug("eSpeak NG from %s speaks at %d Hz, data in %s", self.library, rate, self.data)

    @contextmanager
    def _loaded(self) -> Iterator[tuple[ctypes.CDLL, int]]:
        """The library loaded and initialised on our data folder; terminated and unloaded afterwards.

        Unloading discards every static variable, so the next load starts from the
        state a new process would see (the only state eSpeak NG offers no reset for).
        """
        try:
            lib = ctypes.CDLL(self.library)
        except OSError as exc:
            raise WavegenError(f"cannot load the eSpeak NG speech engine ({_first_line(exc)}); "
                               f"{_INSTALL_HINT}") from None
        try:
            lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
            lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
            lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
            lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
            lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                         ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
            rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, str(self.data).encode(), _DONT_EXIT)
            if rate <= 0:
                raise WavegenError(f"the eSpeak NG speech engine did not start with its data from "
                                   f"{self.shipped}; {_INSTALL_HINT}")
            lib.espeak_SetSynthCallback(self.callback)
            yield lib, rate
        finally:
            lib.espeak_Terminate()
            _unload(lib)

    def _receive(self, wav, count, events) -> int:
        if count > 0:
            self.chunks.append(np.ctypeslib.as_array(wav, (count,)).copy())
        i = 0
        while events[i].type != _EVENT_LIST_TERMINATED:
            if events[i].type == _EVENT_WORD:
                self.events.append((events[i].audio_position, events[i].text_position, events[i].length))
            i += 1
        return 0                                      # 0: go on synthesising

    def synthesize(self, text: str, voice: Voice, seed: int) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
        """Raw int16 samples and word events ``(ms, 1-based character, length)``; call under ``_LOCK``."""
        name = f"{voice.accent}+{self._variant(voice)}"
        with self._loaded() as (lib, _):
            if lib.espeak_SetVoiceByName(name.encode()) != 0:
                raise ValueError(f"eSpeak NG has no voice {name!r} (accent {voice.accent!r})")
            for parameter, value in ((_RATE, voice.rate), (_VOLUME, _ENGINE_VOLUME), (_PITCH, voice.pitch),
                                     (_RANGE, voice.pitch_range), (_PUNCTUATION, 0), (_CAPITALS, 0),
                                     (_WORDGAP, 0)):
                lib.espeak_SetParameter(parameter, int(value), 0)
            lib.espeak_ng_SetRandSeed(seed)
            self.chunks, self.events = [], []
            encoded = text.encode() + b"\0"
            status = lib.espeak_Synth(encoded, len(encoded), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
            if status != 0:
                raise RuntimeError(f"espeak_Synth failed with status {status}")
        samples = np.concatenate(self.chunks) if self.chunks else np.zeros(0, np.int16)
        return samples, self.events

    def _variant(self, voice: Voice) -> str:
        """Name of our variant for ``voice``: the shipped one with its formants scaled."""
        name = f"wg{voice.variant.lower()}{round(voice.formant_scale * 1000)}"
        if name not in self.variants:
            source = self.shipped / "voices" / "!v" / voice.variant
            if not source.is_file():
                raise ValueError(f"eSpeak NG ships no voice variant {voice.variant!r}")
            write_text_atomic(self.data / "voices" / "!v" / name,
                              _variant_text(source.read_text(), voice.formant_scale))
            self.variants.add(name)
        return name


def _unload(lib: ctypes.CDLL) -> None:
    close = getattr(_ctypes, "dlclose", None) or getattr(_ctypes, "FreeLibrary", None)
    if close is not None:
        close(lib._handle)


def _variant_text(shipped: str, formant_scale: float) -> str:
    """A shipped variant's settings with formants 1-8 scaled by ``formant_scale``."""
    lines, scaled = [], set()
    for line in shipped.splitlines():
        words = line.split()
        if words[:1] == ["formant"] and len(words) >= 3 and words[1].isdigit() and int(words[1]) > 0:
            words[2] = str(round(int(words[2]) * formant_scale))
            scaled.add(int(words[1]))
        lines.append(" ".join(words))
    lines += [f"formant {k} {round(100 * formant_scale)} 100 100"
              for k in range(1, _ESPEAK_FORMANTS) if k not in scaled]
    return "\n".join(lines) + "\n"


def _link_data(shipped: Path, private: Path) -> None:
    """Our data folder: the shipped English data linked (or copied) in, and an empty ``voices/!v``."""
    needed = ["phontab", "phondata", "phonindex", "intonations", "en_dict", "lang"]
    for name in needed:
        source, target = shipped / name, private / name
        if not source.exists():
            raise WavegenError(f"the eSpeak NG data at {shipped} has no {name}; {_INSTALL_HINT}")
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.symlink(source, target, target_is_directory=source.is_dir())
        except OSError:                                 # no symlinks (some Windows setups): copy
            (shutil.copytree if source.is_dir() else shutil.copyfile)(source, target)
    (private / "voices" / "!v").mkdir(parents=True)


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]
