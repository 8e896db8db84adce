"""A small source-filter speech synthesiser and noise generators, at 48 kHz.

Used by :mod:`wavegen.data.demo` to make a corpus with speech-like content:

* speech: a Rosenberg glottal pulse (Rosenberg 1971, JASA 49(2B)) differentiated
  for lip radiation, with jitter, shimmer, aspiration and an f0 contour with
  declination and pitch accents, through a cascade of formant resonators (Klatt
  1980, JASA 67(3)) whose targets are the Peterson & Barney (1952) vowel
  averages scaled per speaker (vocal tract length), moving smoothly between
  vowels and consonant loci; fricatives and plosive bursts are shaped noise,
  nasals a weak low-F1 murmur;
* noise of a few stationary and non-stationary kinds (white, pink, brown,
  speech-shaped, babble, mains hum, street).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.fft

SAMPLE_RATE = 48_000
NOISE_KINDS = ("white", "pink", "brown", "speech_shaped", "babble", "hum", "street")

# Peterson & Barney (1952) men's average F1, F2, F3 (Hz), keyed by a spelling.
VOWELS = {"ee": (270, 2290, 3010), "i": (390, 1990, 2550), "e": (530, 1840, 2480),
          "a": (660, 1720, 2410), "ah": (730, 1090, 2440), "aw": (570, 840, 2410),
          "oo": (440, 1020, 2240), "u": (300, 870, 2240), "uh": (640, 1190, 2390),
          "er": (490, 1350, 1690)}
_UPPER_FORMANTS = (3400.0, 4400.0)          # F4, F5 before speaker scaling
_BANDWIDTHS = np.array([80.0, 100.0, 150.0, 250.0, 350.0])


@dataclass(frozen=True)
class _Consonant:
    kind: str                       # fricative | plosive | nasal | aspirate | none
    weight: float                   # how often it starts a syllable
    level: float                    # amplitude relative to a stressed vowel
    locus: tuple | None = None      # F1-F3 the formants move from (murmur formants for nasals)
    noise_hz: float = 4000.0        # centre of the frication spectrum
    noise_octaves: float = 1.0      # its width (Gaussian on a log-frequency axis)
    voiced: bool = False


CONSONANTS = {
    "s": _Consonant("fricative", 12, 0.30, (300, 1800, 2700), 6500, 0.3),
    "sh": _Consonant("fricative", 6, 0.35, (300, 2000, 2500), 3300, 0.35),
    "f": _Consonant("fricative", 6, 0.12, (300, 1000, 2300), 5000, 1.3),
    "z": _Consonant("fricative", 5, 0.18, (300, 1800, 2700), 6000, 0.35, voiced=True),
    "h": _Consonant("aspirate", 8, 0.25),
    "p": _Consonant("plosive", 8, 0.35, (300, 900, 2200), 1000, 0.8),
    "t": _Consonant("plosive", 12, 0.45, (300, 1800, 2700), 4500, 0.5),
    "k": _Consonant("plosive", 10, 0.45, (300, 2000, 2300), 2200, 0.35),
    "m": _Consonant("nasal", 10, 0.30, (280, 1000, 2200)),
    "n": _Consonant("nasal", 10, 0.30, (280, 1600, 2600)),
    "": _Consonant("none", 13, 0.0),
}

_HOP = 512                        # frame hop of the time-varying filters (10.7 ms)
_FRAME = 2 * _HOP                 # periodic Hann of twice the hop sums to one
_NFFT = 4 * _HOP                  # room for the resonators' impulse responses (-40 dB after 21 ms)
_WINDOW = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(_FRAME) / _FRAME)
_BIN_HZ = np.fft.rfftfreq(_NFFT, 1 / SAMPLE_RATE)


@dataclass(frozen=True)
class Voice:
    """A synthetic speaker: pitch, vocal tract length and speaking rate."""
    f0_hz: float
    f0_range_semitones: float
    formant_scale: float          # >1 = shorter vocal tract
    syllable_rate_hz: float
    jitter: float
    shimmer: float
    breathiness: float
    open_quotient: float


def random_voice(rng: np.random.Generator, sex: str) -> Voice:
    """A voice drawn from the typical adult ranges for ``sex`` ("M" or "F")."""
    high = sex == "F"
    return Voice(f0_hz=rng.uniform(180, 240) if high else rng.uniform(95, 135),
                 f0_range_semitones=rng.uniform(3, 7),
                 formant_scale=rng.uniform(1.10, 1.22) if high else rng.uniform(0.92, 1.03),
                 syllable_rate_hz=rng.uniform(3.5, 5.0), jitter=rng.uniform(0.004, 0.012),
                 shimmer=rng.uniform(0.03, 0.08), breathiness=rng.uniform(0.05, 0.15 if high else 0.08),
                 open_quotient=rng.uniform(0.6, 0.75) if high else rng.uniform(0.5, 0.65))


def synthesize_speech(voice: Voice, n_samples: int, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """One utterance of ``n_samples`` at 48 kHz (vowels at unit RMS) and its pseudo transcript."""
    score, transcript = _compose(voice, n_samples, rng)
    source = _glottal_source(voice, score, transcript.endswith("?"), rng)
    voiced = _vocal_tract(voice, score, source)
    loud = score.voicing > 0.5
    voiced /= (np.sqrt(np.mean(voiced[loud] ** 2)) if loud.any() else voiced.std()) + 1e-12
    return voiced + score.frication * _frication_noise(score, rng), transcript


class _Score:
    """Excitation envelopes (per sample) and articulation targets (per frame) of one utterance."""

    def __init__(self, n_samples: int):
        self.n_samples, n_frames = n_samples, n_samples // _HOP + 2
        self.voicing, self.aspiration, self.frication = (np.zeros(n_samples) for _ in range(3))
        self.formant_points: list[tuple[float, tuple]] = []      # (time s, (F1, F2, F3)) before scaling
        self.accents: list[tuple[float, float]] = []             # (time s, relative height)
        self.noise_centre, self.noise_width = np.full(n_frames, 4000.0), np.ones(n_frames)
        self.end_of_speech = n_samples / SAMPLE_RATE

    def envelope(self, track, start, end, level, attack=0.02, release=0.03):
        """Raise ``track`` to ``level`` over [start, end) s with raised-cosine ramps."""
        i0, i1 = max(int(start * SAMPLE_RATE), 0), min(int(end * SAMPLE_RATE), self.n_samples)
        if i1 - i0 < 4:
            return
        shape = np.full(i1 - i0, float(level))
        a, r = (min(int(ramp * SAMPLE_RATE), (i1 - i0) // 2) for ramp in (attack, release))
        shape[:a] *= 0.5 - 0.5 * np.cos(np.pi * np.arange(a) / max(a, 1))
        shape[i1 - i0 - r:] *= 0.5 + 0.5 * np.cos(np.pi * np.arange(r) / max(r, 1))
        np.maximum(track[i0:i1], shape, out=track[i0:i1])

    def syllable(self, t, period, consonant, first, second, stressed, rng):
        """Consonant onset (maybe none), then a vowel moving from ``first`` to ``second``."""
        closure = rng.uniform(0.03, 0.05) if consonant.kind == "plosive" else 0.0
        onset = {"none": 0.0, "plosive": closure + rng.uniform(0.03, 0.05)}.get(consonant.kind,
                                                                                 rng.uniform(0.06, 0.11))
        onset = min(onset, 0.45 * period)
        v_start, v_end = t + onset, t + period * rng.uniform(0.9, 0.98)
        if consonant.locus is not None:     # transitions start halfway from the consonant locus
            locus = np.array(consonant.locus, float)
            mid = locus if consonant.kind == "nasal" else 0.5 * (locus + np.array(VOWELS[first], float))
            self.formant_points.append((t + 0.5 * onset, tuple(mid)))
        if consonant.kind == "fricative":
            self.envelope(self.frication, t, v_start + 0.01, consonant.level, 0.015, 0.015)
            self._frication_spectrum(t, v_start, consonant)
            if consonant.voiced:
                self.envelope(self.voicing, t, v_start + 0.01, 0.25)
        elif consonant.kind == "plosive":
            burst = t + closure
            self.envelope(self.frication, burst, burst + 0.012, consonant.level, 0.001, 0.008)
            self._frication_spectrum(burst, burst + 0.012, consonant)
            self.envelope(self.aspiration, burst + 0.008, v_start + 0.01, 0.15, 0.005, 0.01)
        elif consonant.kind == "nasal":
            self.envelope(self.voicing, t, v_start + 0.015, consonant.level)
        elif consonant.kind == "aspirate":
            self.envelope(self.aspiration, t, v_start + 0.015, consonant.level, 0.02, 0.01)
            self.formant_points.append((t, VOWELS[first]))
        v_len = v_end - v_start
        self.envelope(self.voicing, v_start, v_end, 1.0 if stressed else rng.uniform(0.55, 0.8), 0.02, 0.04)
        self.formant_points += [(v_start + 0.25 * v_len, VOWELS[first]),
                                (v_end - 0.25 * v_len, VOWELS[second])]
        if stressed:
            self.accents.append((v_start + 0.4 * v_len, rng.uniform(0.4, 1.0)))

    def _frication_spectrum(self, start, end, consonant):
        f0, f1 = max(int(start * SAMPLE_RATE / _HOP), 0), int(end * SAMPLE_RATE / _HOP) + 2
        self.noise_centre[f0:f1], self.noise_width[f0:f1] = consonant.noise_hz, consonant.noise_octaves


def _compose(voice: Voice, n_samples: int, rng: np.random.Generator) -> tuple[_Score, str]:
    """Words of 1-3 syllables at the speaker's syllable rate, some pauses, silence at both ends."""
    score = _Score(n_samples)
    margin = min(1.0, n_samples / SAMPLE_RATE / 1.5)        # silences shrink for very short utterances
    t = margin * rng.uniform(0.08, 0.2)
    score.end_of_speech -= margin * rng.uniform(0.1, 0.25)
    letters, weights = list(CONSONANTS), [c.weight for c in CONSONANTS.values()]
    words, done = [], False
    while not done:
        word = ""
        for syllable in range(rng.choice([1, 2, 3], p=[0.45, 0.4, 0.15])):
            period = rng.uniform(0.8, 1.2) / voice.syllable_rate_hz
            if t + period > score.end_of_speech:
                if words or word:
                    done = True
                    break
                period = score.end_of_speech - t          # a very short utterance still says something
            letter = str(rng.choice(letters, p=np.array(weights) / sum(weights)))
            first, second = (str(v) for v in rng.choice(list(VOWELS), 2))
            second = second if rng.random() < 0.3 else first          # some diphthongs
            score.syllable(t, period, CONSONANTS[letter], first, second,
                           stressed=syllable == 0 and rng.random() < 0.7, rng=rng)
            word += letter + first + (second if second != first else "")
            t += period
        if word:
            words.append(word)
        t += rng.uniform(0.08, 0.25) if rng.random() < 0.3 else 0.0
        done = done or t >= score.end_of_speech
    return score, " ".join(words).capitalize() + ("?" if rng.random() < 0.15 else ".")


def _glottal_source(voice: Voice, score: _Score, question: bool, rng: np.random.Generator) -> np.ndarray:
    """Differentiated Rosenberg pulses (lip radiation) plus aspiration, gated by the score."""
    n = score.n_samples
    # f0 on a 5 ms grid: declination, pitch accents, final fall (or question rise), jitter, drift.
    grid = np.arange(0, n / SAMPLE_RATE + 0.005, 0.005)
    span = voice.f0_range_semitones
    semitones = span * (0.3 - 0.6 * grid / grid[-1])
    for centre, height in score.accents:
        semitones += 0.6 * span * height * np.exp(-0.5 * ((grid - centre) / 0.09) ** 2)
    semitones += (1.0 if question else -0.5) * span * np.clip((grid - score.end_of_speech + 0.3) / 0.3, 0, 1)
    drift = np.convolve(rng.standard_normal(grid.size), np.hanning(40) / 20, mode="same")
    jitter = voice.jitter * rng.standard_normal(grid.size)
    f0 = voice.f0_hz * 2 ** (semitones / 12) * (1 + jitter + 0.02 * drift)
    phase = np.cumsum(np.interp(np.arange(n) / SAMPLE_RATE, grid, f0) / SAMPLE_RATE)
    # Rosenberg (1971) flow: cosine opening, short quarter-cosine closing, then closed.
    p = phase % 1.0
    rise, fall = 0.88 * voice.open_quotient, 0.12 * voice.open_quotient
    flow = np.where(p < rise, 0.5 - 0.5 * np.cos(np.pi * p / rise),
                    np.where(p < rise + fall, np.cos(0.5 * np.pi * (p - rise) / fall), 0.0))
    shimmer = 1 + voice.shimmer * rng.standard_normal(int(phase[-1]) + 2)
    pulses = np.diff(flow, prepend=0.0) * shimmer[phase.astype(int)]
    pulses /= pulses.std() + 1e-12
    breath = 1.5 * voice.breathiness * (0.3 + flow) * rng.standard_normal(n)
    return score.voicing * (pulses + breath) + 3 * score.aspiration * rng.standard_normal(n)


def _vocal_tract(voice: Voice, score: _Score, source: np.ndarray) -> np.ndarray:
    """Cascade of five formant resonators (Klatt 1980), unity gain at DC, retuned every frame."""
    n_frames = score.noise_centre.size
    times = np.array([point[0] for point in score.formant_points] or [0.0])
    targets = np.array([point[1] for point in score.formant_points] or [VOWELS["uh"]], float)
    order = np.argsort(times, kind="stable")
    frame_t = np.arange(n_frames) * _HOP / SAMPLE_RATE
    formants = np.stack([np.interp(frame_t, times[order], targets[order, k]) for k in range(3)]
                        + [np.full(n_frames, f) for f in _UPPER_FORMANTS], axis=1) * voice.formant_scale
    radius = np.exp(-np.pi * _BANDWIDTHS * voice.formant_scale ** 0.5 / SAMPLE_RATE)
    a1 = -2 * radius * np.cos(2 * np.pi * formants / SAMPLE_RATE)
    a2 = np.broadcast_to(radius ** 2, formants.shape)
    denominator = np.zeros((n_frames, 11))      # product of the (1 + a1 z^-1 + a2 z^-2), one row per frame
    denominator[:, 0] = 1.0
    for k in range(formants.shape[1]):
        denominator[:, 2:] += a1[:, k:k + 1] * denominator[:, 1:-1] + a2[:, k:k + 1] * denominator[:, :-2]
        denominator[:, 1] += a1[:, k] * denominator[:, 0]
    dc_gain = np.prod(1 + a1 + a2, axis=1, keepdims=True)
    return _overlap_add_filter(source, dc_gain / scipy.fft.rfft(denominator, _NFFT))


def _frication_noise(score: _Score, rng: np.random.Generator) -> np.ndarray:
    """Unit-power noise whose spectrum follows the fricative or burst being produced."""
    pairs, which = np.unique(np.stack([score.noise_centre, score.noise_width], axis=1), axis=0,
                             return_inverse=True)
    octaves = np.log2(np.maximum(_BIN_HZ, 1.0)[None] / pairs[:, :1]) / pairs[:, 1:]
    shape = np.exp(-0.5 * octaves ** 2) * (_BIN_HZ > 200)
    shape = (shape / (np.sqrt(np.mean(shape ** 2, axis=1, keepdims=True)) + 1e-12))[which.ravel()]
    delay = _HOP // 4        # linear phase keeps the zero-phase response from wrapping around
    shaped = _overlap_add_filter(rng.standard_normal(score.n_samples + delay),
                                 shape * np.exp(-2j * np.pi * np.arange(_BIN_HZ.size) * delay / _NFFT))
    return shaped[delay:]


def _overlap_add_filter(x: np.ndarray, response: np.ndarray) -> np.ndarray:
    """Filter ``x`` with one frequency response per hop (frame k centred on sample k * hop)."""
    n, n_frames = x.size, response.shape[0]
    padded = np.zeros((n_frames + 1) * _HOP + _FRAME)
    padded[_HOP:_HOP + n] = x
    frames = padded[np.arange(n_frames)[:, None] * _HOP + np.arange(_FRAME)] * _WINDOW
    filtered = scipy.fft.irfft(scipy.fft.rfft(frames, _NFFT) * response, _NFFT)   # (K, NFFT)
    chunks_per_frame = _NFFT // _HOP
    out = np.zeros((n_frames + chunks_per_frame, _HOP))
    for j, chunk in enumerate(np.split(filtered, chunks_per_frame, axis=1)):
        out[j:j + n_frames] += chunk
    return out.ravel()[_HOP:_HOP + n]


# ---------------------------------------------------------------- noise

def _coloured(n: int, rng: np.random.Generator, gain: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    size = scipy.fft.next_fast_len(n, real=True)
    spectrum = scipy.fft.rfft(rng.standard_normal(size)) * gain(np.fft.rfftfreq(size, 1 / SAMPLE_RATE))
    return _unit_rms(scipy.fft.irfft(spectrum, size)[:n])


_NOISE_SPECTRA = {   # amplitude against frequency (Hz)
    "pink": lambda f: np.maximum(f, 20.0) ** -0.5,
    "brown": lambda f: 1 / np.maximum(f, 20.0),
    # long-term speech spectrum: flat to ~500 Hz, then about -8 dB/octave
    "speech_shaped": lambda f: (f / (f + 100)) * (1 + (f / 500) ** 2) ** -0.7,
}


def _unit_rms(x: np.ndarray) -> np.ndarray:
    x = x - x.mean()
    return x / (np.sqrt(np.mean(x ** 2)) + 1e-12)


def make_noise(kind: str, n: int, rng: np.random.Generator, babble_talkers: list[np.ndarray]) -> np.ndarray:
    """``n`` samples of unit-RMS noise of one of :data:`NOISE_KINDS` at 48 kHz."""
    t = np.arange(n) / SAMPLE_RATE
    if kind == "white":
        return _unit_rms(rng.standard_normal(n))
    if kind in _NOISE_SPECTRA:
        return _coloured(n, rng, _NOISE_SPECTRA[kind])
    if kind == "babble":
        size = min(len(babble_talkers), rng.integers(4, 8))
        chosen = rng.choice(len(babble_talkers), size=size, replace=False)
        mix = np.zeros(n)
        for talker in (babble_talkers[i] for i in chosen):
            start = rng.integers(0, talker.size - n + 1)
            mix += _unit_rms(talker[start:start + n]) * 10 ** (rng.uniform(-3, 3) / 20)
        return _unit_rms(mix)
    if kind == "hum":   # mains hum with harmonics, a slow wobble and a faint floor
        mains = rng.choice([50.0, 60.0]) * (1 + rng.uniform(-0.003, 0.003))
        gains, phases = rng.uniform(0.3, 1.0, 12), rng.uniform(0, 2 * np.pi, 12)
        hum = sum(gains[h - 1] / h ** 0.8 * np.sin(2 * np.pi * h * mains * t + phases[h - 1])
                  for h in range(1, 13))
        wobble = 1 + 0.15 * np.sin(2 * np.pi * rng.uniform(0.2, 1.0) * t + rng.uniform(0, 2 * np.pi))
        return _unit_rms(_unit_rms(hum) * wobble + 0.05 * _coloured(n, rng, _NOISE_SPECTRA["pink"]))
    if kind == "street":  # rumble and tyre noise under passing cars, plus a few clatters
        rumble = _coloured(n, rng, lambda f: 1 / np.maximum(f, 30.0))
        tyres = _coloured(n, rng, lambda f: np.exp(-0.5 * (np.log2(np.maximum(f, 1.0) / 1000) / 1.2) ** 2))
        traffic = np.full(n, rng.uniform(0.3, 0.6))
        for _ in range(rng.integers(1, 4)):
            traffic += rng.uniform(0.5, 1.5) * np.exp(-0.5 * ((t - rng.uniform(-0.5, t[-1] + 0.5))
                                                              / rng.uniform(0.4, 1.2)) ** 2)
        street = traffic * (rumble + 0.5 * tyres)
        for _ in range(rng.integers(0, 4)):
            i0, decay = rng.integers(0, n), rng.uniform(0.01, 0.04) * SAMPLE_RATE
            burst = rng.standard_normal(min(n - i0, int(5 * decay))) * rng.uniform(1, 3)
            street[i0:i0 + burst.size] += burst * np.exp(-np.arange(burst.size) / decay)
        return _unit_rms(street)
    raise ValueError(f"unknown noise kind {kind!r}; choose from {', '.join(NOISE_KINDS)}")


def mix_at_snr(clean: np.ndarray, noise: np.ndarray, snr_db: float, peak: float = 0.99):
    """``(clean, noisy)``: noise scaled to ``snr_db`` over the whole utterance, both kept below ``peak``."""
    noise = noise * np.sqrt(np.mean(clean ** 2) / (np.mean(noise ** 2) * 10 ** (snr_db / 10)))
    noisy = clean + noise
    scale = min(1.0, peak / max(np.abs(noisy).max(), np.abs(clean).max()))
    return clean * scale, noisy * scale
