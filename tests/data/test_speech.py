"""The demo corpora's speech source: eSpeak NG through ctypes, our voices and our sentences."""

from __future__ import annotations

import ctypes
import sys

import numpy as np
import pytest

from tests.speech_signals import f0_track, voiced_fraction
import wavegen.data.speech as speech
from wavegen.data.demo import _demo_utterance
from wavegen.data.sentences import number_words, sentence
from wavegen.data.speech import ACCENTS, VARIANTS, Voice, random_voice, speak
from wavegen.errors import WavegenError

TEXT = "Where did the old fisherman leave his blue umbrella last Tuesday?"
RATE = 16000


@pytest.fixture(scope="module")
def cast():
    """Six men and six women, each saying the same sentence."""
    rng = np.random.default_rng(2024)
    voices = [(sex, random_voice(rng, sex)) for sex in "MF" * 6]
    return [(sex, voice, speak(TEXT, voice, RATE)) for sex, voice in voices]


# ---------------------------------------------------------------- determinism

def test_same_text_and_voice_give_the_same_samples_whatever_was_spoken_before():
    # Someone else holding the shipped library (as `wavegen doctor` does) must not matter either.
    import espeakng_loader
    other = ctypes.CDLL(espeakng_loader.get_library_path())
    breathy = Voice(accent="en-gb-x-rp", variant="f2", pitch=60, rate=150)    # breath noise and echo
    first = speak(TEXT, breathy, seed=3)
    for text, voice in (("Good morning.", Voice(variant="m1")), (TEXT, Voice(variant="f3")),
                        ("Seventeen boats.", breathy)):
        speak(text, voice, seed=8)
    again = speak(TEXT, breathy, seed=3)
    assert np.array_equal(first.audio, again.audio) and first.words == again.words
    assert not np.array_equal(speak(TEXT, breathy, seed=4).audio, first.audio)    # the seed reaches the noise
    assert other.espeak_Info is not None


# ---------------------------------------------------------------- voices

def test_voices_differ_and_women_speak_higher(cast):
    medians = {id(voice): np.nanmedian(f0_track(said.audio, RATE)) for _, voice, said in cast}
    men = [medians[id(voice)] for sex, voice, _ in cast if sex == "M"]
    women = [medians[id(voice)] for sex, voice, _ in cast if sex == "F"]
    assert all(70 <= f <= 170 for f in men), men
    assert all(150 <= f <= 320 for f in women), women
    assert min(women) > max(men)
    assert np.mean(women) / np.mean(men) > 1.5                   # about an octave apart in real speech
    assert len({round(f) for f in men + women}) >= 10            # twelve speakers, (nearly) twelve pitches
    assert len({voice for _, voice, _ in cast}) == 12


def test_vocal_tract_scale_moves_the_formants():
    def centroid(said):
        power = np.abs(np.fft.rfft(said.audio)) ** 2
        freqs = np.fft.rfftfreq(said.audio.size, 1 / RATE)
        band = (freqs > 300) & (freqs < 4000)
        return np.sum(freqs[band] * power[band]) / np.sum(power[band])

    short, long = (speak(TEXT, Voice(variant="m3", formant_scale=scale), RATE) for scale in (1.1, 0.9))
    assert centroid(short) > 1.05 * centroid(long)


def test_random_voices_use_every_accent_and_only_listed_variants():
    rng = np.random.default_rng(0)
    voices = [random_voice(rng, sex) for sex in "MF" * 60]
    assert {voice.accent for voice in voices} == set(ACCENTS)
    assert all(voice.variant in VARIANTS[sex] for voice, sex in zip(voices, "MF" * 60))
    assert random_voice(np.random.default_rng(5), "F") == random_voice(np.random.default_rng(5), "F")
    with pytest.raises(ValueError, match="'M' or 'F'"):
        random_voice(rng, "X")


def test_every_accent_and_variant_speaks():
    for accent in ACCENTS:
        assert speak("Thank you.", Voice(accent=accent)).seconds > 0.3
    for variant in VARIANTS["M"] + VARIANTS["F"]:
        said = speak("Thank you.", Voice(variant=variant))
        assert 0.3 < said.seconds < 1.5 and 0.05 < np.abs(said.audio).max() < 1.0, variant


# ---------------------------------------------------------------- speech-like

def test_speech_is_voiced_with_moving_pitch_in_the_speech_band(cast):
    for sex, voice, said in cast:
        f0 = f0_track(said.audio, RATE)
        voiced = f0[~np.isnan(f0)]
        assert 0.5 < voiced_fraction(said.audio, RATE) < 0.97, voice     # mostly voiced, some not
        assert np.mean((70 <= voiced) & (voiced <= 400)) > 0.95, voice
        semitones = 12 * np.log2(voiced / np.median(voiced))
        assert np.percentile(semitones, 90) - np.percentile(semitones, 10) > 2.0, voice   # intonation
        power = np.abs(np.fft.rfft(said.audio)) ** 2
        freqs = np.fft.rfftfreq(said.audio.size, 1 / RATE)
        assert power[(freqs > 100) & (freqs < 4000)].sum() > 0.85 * power.sum(), voice


def test_words_are_reported_where_they_are_spoken(cast):
    for _, voice, said in cast:
        assert [word for _, word in said.words] == TEXT.rstrip("?").split()
        starts = [start for start, _ in said.words]
        assert starts == sorted(starts) and starts[0] < 0.1 and starts[-1] < said.seconds - 0.2
        assert 0.15 < said.seconds / len(said.words) < 0.6              # 100-400 words a minute


def test_digits_for_speech_commands_are_single_short_words():
    rng = np.random.default_rng(9)
    for digit in range(10):
        said = speak(number_words(digit), random_voice(rng, "MF"[digit % 2]), RATE)
        assert len(said.words) == 1 and 0.2 < said.seconds < 1.0, number_words(digit)


def test_speaking_at_another_rate_resamples():
    native, wide = speak("Thank you.", Voice()), speak("Thank you.", Voice(), 48000)
    assert native.sample_rate == speech.ENGINE_RATE and wide.sample_rate == 48000
    assert wide.audio.size == pytest.approx(native.audio.size * 48000 / native.sample_rate, abs=2)


# ---------------------------------------------------------------- demo utterances

def test_demo_utterances_keep_room_tone_in_their_pauses_and_fit_their_length():
    rng = np.random.default_rng(4)
    for i in range(6):
        audio, text = _demo_utterance(random_voice(rng, "MF"[i % 2]), (2.0, 3.5), rng, RATE)
        assert 2.0 * RATE <= audio.size <= 3.5 * RATE + 1
        assert 1 <= len(text.split()) <= 14 and text[-1] in ".?"
        frames = audio[:audio.size // 160 * 160].reshape(-1, 160)         # 10 ms
        level = 10 * np.log10(np.mean(frames ** 2, axis=1))
        speech_db = 10 * np.log10(np.mean(audio[audio.size // 4:3 * audio.size // 4] ** 2))
        assert -32 < speech_db < -18
        pause = level[:5]                                                 # the first 50 ms are silence
        assert np.all(np.isfinite(pause)) and np.all(pause > -85) and np.all(pause < speech_db - 30)
        assert np.abs(audio).max() < 1


def test_demo_utterance_of_a_very_short_length_still_says_a_word():
    audio, text = _demo_utterance(Voice(rate=150), (0.3, 0.5), np.random.default_rng(0), RATE)
    assert 0.3 * RATE <= audio.size <= 0.5 * RATE + 1 and len(text.split()) == 1


# ---------------------------------------------------------------- sentences

def test_sentences_are_many_distinct_fit_their_budget_and_are_punctuated():
    texts = []
    for i in range(400):
        rng = np.random.default_rng([1, i])
        low = int(rng.integers(1, 8))
        text = sentence(rng, max_words=low + 4, min_words=low)
        assert low <= len(text.split()) <= low + 4 or text in ("Yes, of course.", "Not yet."), text
        assert text[0].isupper() and text[-1] in ".?" and "  " not in text
        texts.append(text)
    assert len(set(texts)) > 370
    assert sentence(np.random.default_rng(0), max_words=1).count(" ") == 0


@pytest.mark.parametrize("n, words", [(0, "zero"), (13, "thirteen"), (40, "forty"), (42, "forty two"),
                                      (100, "one hundred"), (342, "three hundred and forty two"),
                                      (2024, "two thousand and twenty four"), (1905, "one thousand nine hundred and five")])
def test_number_words(n, words):
    assert number_words(n) == words


# ---------------------------------------------------------------- errors

def test_a_missing_library_is_a_one_line_error_naming_the_package(monkeypatch, tmp_path):
    import espeakng_loader
    monkeypatch.setattr(speech, "_ENGINE", None)
    monkeypatch.setattr(espeakng_loader, "get_library_path", lambda: str(tmp_path / "libespeak-ng.so"))
    (tmp_path / "libespeak-ng.so").write_bytes(b"not a library")
    with pytest.raises(WavegenError) as error:
        speak("Hello.")
    message = str(error.value)
    assert "\n" not in message and "espeakng-loader" in message and "pip install espeakng-loader" in message

    monkeypatch.setitem(sys.modules, "espeakng_loader", None)           # not installed at all
    with pytest.raises(WavegenError, match="pip install espeakng-loader") as error:
        speak("Hello.")
    assert "\n" not in str(error.value)
    assert speech._ENGINE is None
