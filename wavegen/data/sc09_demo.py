"""A demo corpus of spoken digits in the Speech Commands v0.02 layout, read by :mod:`wavegen.data.sc09`.

Speech Commands (Warden, arXiv:1804.03209, 2018) is one-second clips of single
words recorded by volunteers on their own microphones: folders ``<word>/`` of
``<speaker>_nohash_<n>.wav`` (16 kHz, 16-bit mono), ``_background_noise_/`` with
a few long noise recordings, and ``validation_list.txt`` / ``testing_list.txt``
choosing about 10 % of the speakers each by a hash of the speaker id.
:func:`write_sc09_demo` writes that layout; only the content is ours:

* every word is spoken by eSpeak NG through :func:`wavegen.data.speech.speak`;
  each speaker is a seeded voice (:func:`~wavegen.data.speech.random_voice`,
  half of them female) with an 8-hex-digit id, and each repetition nudges the
  speaking rate and pitch, as a person saying a word twice does;
* the word starts anywhere it fits in the clip (in 3 % of clips it runs up to
  80 ms over an edge, as some real clips are cut), its active level is drawn
  from -30..-18 dBFS and peaks stay below 0.9; about one clip in ten is shorter
  than a second, as in the real set;
* a pink room tone 40-50 dB below the word runs through every clip (no clip is
  digital silence), and 40 % of the clips get an excerpt of one of the
  ``_background_noise_`` files, exactly as written, 20-40 dB below the word;
* ``other_words`` non-digit folders ("yes", "no", ...) are written too, one
  repetition a speaker, so a reader has to leave them out.

The split follows ``which_set`` of TensorFlow's speech_commands example
(``tensorflow/examples/speech_commands/input_data.py``): the SHA-1 of the speaker
id, mod 2**27, times 100 / (2**27 - 1), is below 10 for validation, below 20 for
testing. With few speakers chance can leave a split (nearly) empty; when either
held-out split would get fewer than min(3, round(speakers / 10)) speakers (at
least one), the speakers are instead ranked by that same number and the lowest
max(1, round(speakers / 10)) go to validation, the next as many to testing.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path

import numpy as np

from wavegen.audio.io import resample, write_audio
from wavegen.core.files import write_text_atomic
from wavegen.data.demo_root import claim_demo_root, mark_demo_complete
from wavegen.data.noise import make_noise
from wavegen.data.packed import from_int16, resampled_length, to_int16
from wavegen.data.sc09 import DIGITS, SAMPLE_RATE, SPLIT_LISTS
from wavegen.data.speech import Voice, random_voice, speak
from wavegen.errors import DatasetError

log = logging.getLogger(__name__)

# The other 25 words of Speech Commands v0.02, the command words first.
OTHER_WORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go", "bed", "bird", "cat",
               "dog", "happy", "house", "marvin", "sheila", "tree", "wow", "backward", "forward", "follow",
               "learn", "visual")
NOISE_FOLDER = "_background_noise_"
# Our stand-ins for the real folder's recordings (white and pink noise, a tap, dishes, ...).
NOISE_FILES = {"white_noise": "white", "pink_noise": "pink", "brown_noise": "brown", "mains_hum": "hum",
               "street": "street"}
NOISE_SECONDS = 10
HELD_OUT_PERCENT = 10.0              # each of validation and testing, as Speech Commands
_MAX_NUM_WAVS_PER_CLASS = 2 ** 27 - 1  # which_set's constant
_CLIP = SAMPLE_RATE                  # one second


def write_sc09_demo(root: str | Path, *, seed: int = 0, speakers: int = 40, repetitions: int = 2,
                    other_words: int = 4, progress: Callable[[Iterable], Iterable] | None = None) -> Path:
    """Write spoken digits under ``root`` in the Speech Commands v0.02 layout; returns ``root``.

    Every speaker says each digit ``repetitions`` times and the first
    ``other_words`` of :data:`OTHER_WORDS` once. Deterministic for a seed. A
    complete corpus with the same arguments is left alone; the marker
    ``.wavegen_demo.json`` is written last, so an interrupted run is regenerated,
    and a folder holding Speech Commands files without it is never overwritten.
    ``progress`` wraps the loop over speakers.
    """
    root = Path(root)
    if speakers < 3:
        raise DatasetError(f"demo corpus: speakers must be at least 3 (one for each split), got {speakers}")
    if repetitions < 1:
        raise DatasetError(f"demo corpus: repetitions must be at least 1, got {repetitions}")
    if not 0 <= other_words <= len(OTHER_WORDS):
        raise DatasetError(f"demo corpus: other_words must be 0..{len(OTHER_WORDS)}, got {other_words}")
    params = {"corpus": "sc09", "seed": seed, "speakers": speakers,
              "repetitions": repetitions, "other_words": other_words}
    owned = [*DIGITS, *OTHER_WORDS, NOISE_FOLDER, *SPLIT_LISTS.values(), "README.md"]
    if claim_demo_root(root, params, owned, "Speech Commands files"):
        log.info("SC09 demo corpus already complete at %s", root)
        return root
    noises = _write_background_noise(root / NOISE_FOLDER, seed)
    ids = _speaker_ids(seed, speakers)
    words = [(word, repetitions) for word in DIGITS] + [(word, 1) for word in OTHER_WORDS[:other_words]]
    takes = [(w, n) for w, (_, count) in enumerate(words) for n in range(count)]
    for s in (progress or iter)(range(speakers)):
        voice = random_voice(np.random.default_rng([seed, 1, s]), "FM"[s % 2])
        rngs = [np.random.default_rng([seed, 2, s, w, n]) for w, n in takes]
        spoken = _speak_takes([(words[w][0], _take_voice(voice, rng), int(rng.integers(2 ** 31)))
                               for (w, _), rng in zip(takes, rngs)])
        for (w, n), rng, speech in zip(takes, rngs, spoken):
            audio = _clip(speech, rng, noises)
            write_audio(root / words[w][0] / f"{ids[s]}_nohash_{n}.wav", audio, SAMPLE_RATE, subtype="PCM_16")
    splits = speaker_splits(ids)
    for split, list_name in SPLIT_LISTS.items():
        held = sorted(f"{words[w][0]}/{speaker}_nohash_{n}.wav" for speaker in ids if splits[speaker] == split
                      for w, n in takes)
        write_text_atomic(root / list_name, "".join(f"{path}\n" for path in held))
    readme = _README.format(seed=seed, speakers=speakers, clips=speakers * len(takes))
    write_text_atomic(root / "README.md", readme)
    mark_demo_complete(root, params)
    log.info("wrote SC09 demo corpus (%d speakers, %d clips) to %s", speakers, speakers * len(takes), root)
    return root


def percentage_hash(speaker: str) -> float:
    """``which_set``'s number for a speaker id, in [0, 100]: below 10 is validation, below 20 testing."""
    hashed = int(hashlib.sha1(speaker.encode("utf-8")).hexdigest(), 16)
    return (hashed % (_MAX_NUM_WAVS_PER_CLASS + 1)) * (100.0 / _MAX_NUM_WAVS_PER_CLASS)


def speaker_splits(speakers: list[str]) -> dict[str, str]:
    """"train", "validation" or "test" for each speaker id, by its hash (module docstring)."""
    held = max(1, round(len(speakers) * HELD_OUT_PERCENT / 100))
    by_hash = {}
    for speaker in speakers:
        p = percentage_hash(speaker)
        by_hash[speaker] = ("validation" if p < HELD_OUT_PERCENT else
                            "test" if p < 2 * HELD_OUT_PERCENT else "train")
    counts = [sum(split == name for split in by_hash.values()) for name in ("validation", "test", "train")]
    if min(counts[:2]) >= min(3, held) and counts[2] >= 1:
        return by_hash
    ranked = sorted(speakers, key=percentage_hash)
    return {speaker: "validation" if i < held else "test" if i < 2 * held else "train"
            for i, speaker in enumerate(ranked)}


def _speaker_ids(seed: int, count: int) -> list[str]:
    """``count`` distinct 8-hex-digit ids, like Speech Commands' hashed speaker names."""
    rng, ids = np.random.default_rng([seed, 0]), []
    while len(ids) < count:
        speaker = f"{int(rng.integers(2 ** 32)):08x}"
        if speaker not in ids:
            ids.append(speaker)
    return ids


def _take_voice(voice: Voice, rng: np.random.Generator) -> Voice:
    """A second take of a word is never quite the same: a little faster or slower, higher or lower."""
    return replace(voice, rate=int(voice.rate * rng.uniform(0.9, 1.1)),
                   pitch=int(np.clip(voice.pitch + rng.integers(-6, 7), 0, 100)))


def _speak_takes(requests: list[tuple[str, Voice, int]]) -> list[np.ndarray]:
    """Each (text, voice, seed) spoken and resampled to 16 kHz, as ``speak(text, voice, 16000, seed=seed)``.

    The words are resampled in one batch (zero-padded to the longest, which leaves
    each word's own samples unchanged): torchaudio builds its sinc kernel afresh on
    every call, and on a busy machine that costs more than speaking the word.
    """
    native = [speak(text, voice, seed=seed) for text, voice, seed in requests]
    rate, longest = native[0].sample_rate, max(speech.audio.size for speech in native)
    batch = np.stack([np.pad(speech.audio, (0, longest - speech.audio.size)) for speech in native])
    resampled = resample(batch, rate, SAMPLE_RATE).numpy().astype(np.float64)       # (takes, T)
    return [row[:resampled_length(speech.audio.size, rate, SAMPLE_RATE)]
            for row, speech in zip(resampled, native)]


def _clip(speech: np.ndarray, rng: np.random.Generator, noises: list[np.ndarray]) -> np.ndarray:
    """One recording of a spoken word: placed, levelled, over a room tone and sometimes background noise."""
    level = 10 ** (rng.uniform(-30, -18) / 20)
    speech = speech * level / (np.sqrt(np.mean(speech ** 2)) + 1e-12)
    # About one real clip in ten is shorter than a second; never shorter than the word and a little room.
    length = _CLIP
    if rng.random() < 0.1:
        length = int(rng.uniform(min(speech.size + 0.1 * SAMPLE_RATE, _CLIP), _CLIP))
    latest = length - speech.size
    start = int(rng.integers(0, max(latest, 0) + 1)) if latest >= 0 else latest // 2
    if rng.random() < 0.03:                     # cut at an edge, as in some real recordings
        overhang = int(rng.uniform(0.01, 0.08) * SAMPLE_RATE)
        start = -overhang if rng.random() < 0.5 else max(latest, 0) + overhang
    audio = np.zeros(length)
    first, last = max(start, 0), min(start + speech.size, length)
    audio[first:last] = speech[first - start:last - start]
    audio += level * 10 ** (-rng.uniform(40, 50) / 20) * make_noise("pink", length, rng, [], SAMPLE_RATE)
    if rng.random() < 0.4:
        noise = noises[int(rng.integers(len(noises)))]
        offset = int(rng.integers(0, noise.size - length + 1))
        excerpt = noise[offset:offset + length]
        audio += excerpt * level * 10 ** (-rng.uniform(20, 40) / 20) / (np.sqrt(np.mean(excerpt ** 2)) + 1e-12)
    return audio * min(1.0, 0.89 / np.abs(audio).max())


def _write_background_noise(folder: Path, seed: int) -> list[np.ndarray]:
    """Ten seconds of each :data:`NOISE_FILES` kind at -30..-20 dBFS; returns them as written (16-bit)."""
    noises = []
    for k, (name, kind) in enumerate(NOISE_FILES.items()):
        rng = np.random.default_rng([seed, 3, k])
        noise = make_noise(kind, NOISE_SECONDS * SAMPLE_RATE, rng, [], SAMPLE_RATE)
        noise *= 10 ** (rng.uniform(-30, -20) / 20)
        noise = from_int16(to_int16(noise * min(1.0, 0.89 / np.abs(noise).max()))).astype(np.float64)
        write_audio(folder / f"{name}.wav", noise, SAMPLE_RATE, subtype="PCM_16")
        noises.append(noise)
    write_text_atomic(folder / "README.md", _NOISE_README.format(
        seconds=NOISE_SECONDS, names=", ".join(f"{name}.wav" for name in NOISE_FILES)))
    return noises


_README = """\
# Speech Commands demo corpus (wavegen)

Written by `wavegen.data.sc09_demo.write_sc09_demo` (seed {seed}) in the layout of
Speech Commands v0.02 (Warden 2018, arXiv:1804.03209): {speakers} synthetic speakers,
{clips} one-second clips, spoken by eSpeak NG. It is not the real dataset, which is at
http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz.
"""

_NOISE_README = """\
Background noise for mixing into the clips, {seconds} s each at 16 kHz: {names}.
Synthetic stand-ins written by wavegen for the recordings in the real Speech
Commands folder (white_noise.wav, pink_noise.wav, running_tap.wav, ...).
"""
