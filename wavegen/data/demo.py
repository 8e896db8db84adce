"""Embedded demo corpora written in the exact layouts of real ones, spoken by a real TTS engine.

VoiceBank-DEMAND (Valentini-Botinhao, Wang, Takaki and Yamagishi, "Investigating
RNN-based speech enhancement methods for noise-robust text-to-speech", SSW 2016;
Edinburgh DataShare, doi:10.7488/ds/2117) mixes VCTK read speech with DEMAND
noise at 15/10/5/0 dB SNR for training and 17.5/12.5/7.5/2.5 dB for testing.
:func:`write_voicebank_demo` writes the same folders, file names, 48 kHz 16-bit
mono WAVs, noise logs and transcripts, so the demo goes through the real reader
(:mod:`wavegen.data.voicebank`). For WaveNet training, :func:`write_ljspeech_demo`
and :func:`write_vctk_demo` write the LJSpeech-1.1 and VCTK 0.92 layouts, read by
:mod:`wavegen.data.ljspeech` and :mod:`wavegen.data.vctk`. The folder each is written
into is claimed through :mod:`wavegen.data.demo_root`. Only the content is ours:

* every corpus is spoken by one source, :func:`wavegen.data.speech.speak`
  (eSpeak NG, a rule-based formant TTS engine), reading sentences from our own
  grammar (:mod:`wavegen.data.sentences`); each speaker is a seeded voice
  (accent, voice variant, vocal-tract scale, pitch, pitch range, speaking rate,
  spectral colour), female where the real corpus's speaker is;
* each utterance is one sentence, chosen to fit the requested length, with
  natural leading and trailing silence, a faint room tone under the pauses
  (digital silence is not speech-like, and PESQ misbehaves on it), and an
  active-speech level around -25 dBFS; the engine speaks at 22.05 kHz, so the
  48 kHz corpora carry nothing above 11 kHz;
* noise (:mod:`wavegen.data.noise`) of a few stationary and non-stationary kinds
  standing in for the DEMAND recordings, the same kinds in train and test but
  different instances; babble is cut from six TTS talkers outside the corpus.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path

from dataclasses import replace

import numpy as np

from wavegen.audio.io import write_audio
from wavegen.core.files import write_text_atomic
from wavegen.data.demo_root import claim_demo_root, mark_demo_complete
from wavegen.data.noise import NOISE_KINDS, SAMPLE_RATE, make_noise, mix_at_snr
from wavegen.data.sentences import sentence
from wavegen.data.speech import Voice, random_voice, speak
from wavegen.errors import DatasetError

log = logging.getLogger(__name__)

TRAIN_SNRS_DB = (15.0, 10.0, 5.0, 0.0)
TEST_SNRS_DB = (17.5, 12.5, 7.5, 2.5)
# VoiceBank-DEMAND's 28 training speakers and 2 test speakers, with the sex VCTK's
# speaker-info lists for each (used only to pick a voice range).
TRAIN_SPEAKERS = tuple(zip(
    "p226 p227 p228 p230 p231 p233 p236 p239 p243 p244 p250 p254 p256 p258 p259 p267 p268 p269 p270 p273 "
    "p274 p276 p277 p278 p279 p282 p286 p287".split(), "MMFFFFFFMFFMMMMFFFMMMFFMMFMM"))
TEST_SPEAKERS = (("p232", "M"), ("p257", "F"))

# ---------------------------------------------------------------- the corpus

def write_voicebank_demo(root: str | Path, *, seed: int = 0, train_speakers: int = 8,
                         train_utterances_per_speaker: int = 20, test_speakers: int = 2,
                         test_utterances_per_speaker: int = 10, seconds: tuple[float, float] = (2.0, 3.5),
                         trainset: str = "28spk",
                         progress: Callable[[Iterable], Iterable] | None = None) -> Path:
    """Write the demo corpus under ``root`` in the VoiceBank-DEMAND layout; returns ``root``.

    Utterance lengths lie within ``seconds``. Deterministic for a seed. A complete corpus with the same arguments is left
    alone; the marker ``.wavegen_demo.json`` is written last, so an interrupted
    run is regenerated next time. ``trainset`` ("28spk" or "56spk") only changes
    the folder names. ``progress`` wraps the loop over utterances (e.g. ``tqdm``).
    """
    root = Path(root)
    _check_arguments(seconds, train_speakers=(train_speakers, len(TRAIN_SPEAKERS)),
                     test_speakers=(test_speakers, len(TEST_SPEAKERS)),
                     train_utterances_per_speaker=(train_utterances_per_speaker, None),
                     test_utterances_per_speaker=(test_utterances_per_speaker, None))
    if trainset not in ("28spk", "56spk"):
        raise DatasetError(f"demo corpus: trainset must be '28spk' or '56spk', got {trainset!r}")
    params = {"seed": seed, "train_speakers": train_speakers,
              "train_utterances_per_speaker": train_utterances_per_speaker, "test_speakers": test_speakers,
              "test_utterances_per_speaker": test_utterances_per_speaker, "seconds": list(seconds),
              "trainset": trainset}
    if _demo_is_complete(root, params):
        log.info("VoiceBank-DEMAND demo corpus already complete at %s", root)
        return root
    splits = [(f"trainset_{trainset}", TRAIN_SPEAKERS[:train_speakers], train_utterances_per_speaker,
               TRAIN_SNRS_DB),
              ("testset", TEST_SPEAKERS[:test_speakers], test_utterances_per_speaker, TEST_SNRS_DB)]
    jobs = []
    for split_code, (tag, speakers, per_speaker, snrs) in enumerate(splits):
        # Every (noise kind, SNR) condition once per cycle, in a shuffled order.
        rng = np.random.default_rng([seed, split_code])
        conditions = [(kind, snr) for kind in NOISE_KINDS for snr in snrs]
        count = len(speakers) * per_speaker
        cycles = [conditions[i] for _ in range(-(-count // len(conditions)))
                  for i in rng.permutation(len(conditions))]
        babble = any(kind == "babble" for kind, _ in cycles[:count])
        talkers = _babble_talkers(np.random.default_rng([seed, split_code, 99]), seconds[1]) if babble else []
        jobs += [(split_code, tag, talkers, speaker, sex, utterance, *cycles[s * per_speaker + utterance])
                 for s, (speaker, sex) in enumerate(speakers) for utterance in range(per_speaker)]
    logs: dict[str, list[str]] = {}
    for split_code, tag, talkers, speaker, sex, utterance, kind, snr in (progress or iter)(jobs):
        voice = random_voice(np.random.default_rng([seed, int(speaker[1:])]), sex)
        rng = np.random.default_rng([seed, split_code, int(speaker[1:]), utterance])
        clean, transcript = _demo_utterance(voice, seconds, rng, SAMPLE_RATE, level_db=(-28, -22))
        clean, noisy = mix_at_snr(clean, make_noise(kind, clean.size, rng, talkers), snr)
        name = f"{speaker}_{utterance + 1:03d}"
        write_audio(root / f"clean_{tag}_wav" / f"{name}.wav", clean, SAMPLE_RATE, subtype="PCM_16")
        write_audio(root / f"noisy_{tag}_wav" / f"{name}.wav", noisy, SAMPLE_RATE, subtype="PCM_16")
        write_text_atomic(root / f"{tag}_txt" / f"{name}.txt", transcript + "\n")
        logs.setdefault(tag, []).append(f"{name} {kind} {snr:g}")
    for tag, lines in logs.items():
        write_text_atomic(root / f"log_{tag}.txt", "\n".join(lines) + "\n")
    mark_demo_complete(root, params)
    log.info("wrote VoiceBank-DEMAND demo corpus (%d utterances) to %s", len(jobs), root)
    return root


def _check_arguments(seconds: tuple[float, float], **counts: tuple[int, int | None]) -> None:
    """Refuse a count outside 1..most (``None``: no upper bound) or lengths below 0.3 s, naming the argument."""
    for name, (count, most) in counts.items():
        if count < 1 or (most is not None and count > most):
            allowed = f"1..{most}" if most is not None else "at least 1"
            raise DatasetError(f"demo corpus: {name} must be {allowed}, got {count}")
    if not 0.3 <= seconds[0] <= seconds[1]:
        raise DatasetError(f"demo corpus: seconds must be a (shortest, longest) pair of at least 0.3 s, "
                           f"got {tuple(seconds)}")


def _demo_is_complete(root: Path, params: dict) -> bool:
    """True if ``root`` holds this exact corpus; otherwise clear what an earlier run left and mark it ours."""
    owned = [name for tag in ("trainset_28spk", "trainset_56spk", "testset")
             for name in (f"clean_{tag}_wav", f"noisy_{tag}_wav", f"{tag}_txt", f"log_{tag}.txt")]
    return claim_demo_root(root, params, owned, "VoiceBank-style folders")


def _babble_talkers(rng: np.random.Generator, longest_s: float, count: int = 6) -> list[np.ndarray]:
    """Talkers outside the corpus, each reading sentences for twice ``longest_s``, to crop babble from."""
    talkers = []
    for _ in range(count):
        voice = random_voice(rng, str(rng.choice(["M", "F"])))
        parts, length = [], 0
        while length < 2 * longest_s * SAMPLE_RATE:
            speech = speak(sentence(rng, max_words=14, min_words=6), voice, SAMPLE_RATE,
                           seed=int(rng.integers(2 ** 31)))
            parts += [speech.audio, np.zeros(int(rng.uniform(0.05, 0.3) * SAMPLE_RATE), np.float32)]
            length += parts[-2].size + parts[-1].size
        talkers.append(np.concatenate(parts).astype(np.float64))
    return talkers


# ---------------------------------------------------------------- LJSpeech and VCTK (WaveNet corpora)

LJSPEECH_RATE = 22_050
# VCTK's first speakers alternate F, M in this demo; the real p225 is female, p226 male.
VCTK_FIRST_SPEAKER = 225
_LJ_PER_CHAPTER = 20          # LJSpeech ids are <chapter>-<utterance>: LJ001-0001, ..., LJ002-0001


def write_ljspeech_demo(root: str | Path, *, seed: int = 0, utterances: int = 40,
                        seconds: tuple[float, float] = (1.5, 3.5),
                        progress: Callable[[Iterable], Iterable] | None = None) -> Path:
    """Write one speaker (a woman, American English) under ``root`` in the LJSpeech-1.1 layout.

    LJSpeech (Ito and Johnson 2017, https://keithito.com/LJ-Speech-Dataset/):
    ``metadata.csv`` with ``id|transcription|normalized transcription`` rows and
    ``wavs/<id>.wav``, 22050 Hz mono 16-bit. Deterministic for a seed, skipped
    when complete with the same arguments, marker written last (as
    :func:`write_voicebank_demo`).
    """
    root = Path(root)
    _check_arguments(seconds, utterances=(utterances, None))
    params = {"corpus": "ljspeech", "seed": seed, "utterances": utterances,
              "seconds": list(seconds)}
    if claim_demo_root(root, params, ["wavs", "metadata.csv"], "LJSpeech files"):
        log.info("LJSpeech demo corpus already complete at %s", root)
        return root
    # LJSpeech's reader is an American woman.
    voice = replace(random_voice(np.random.default_rng([seed, 0]), "F"), accent="en-us")
    rows = []
    for i in (progress or iter)(range(utterances)):
        rng = np.random.default_rng([seed, 1, i])
        speech, transcript = _demo_utterance(voice, seconds, rng, LJSPEECH_RATE)
        name = f"LJ{i // _LJ_PER_CHAPTER + 1:03d}-{i % _LJ_PER_CHAPTER + 1:04d}"
        audio = _limit_peak(speech)
        write_audio(root / "wavs" / f"{name}.wav", audio, LJSPEECH_RATE, subtype="PCM_16")
        # No numbers or abbreviations to expand, so the normalized column repeats the text.
        rows.append(f"{name}|{transcript}|{transcript}")
    write_text_atomic(root / "metadata.csv", "\n".join(rows) + "\n")
    mark_demo_complete(root, params)
    log.info("wrote LJSpeech demo corpus (%d utterances) to %s", utterances, root)
    return root


def write_vctk_demo(root: str | Path, *, seed: int = 0, speakers: int = 4, utterances_per_speaker: int = 12,
                    seconds: tuple[float, float] = (1.5, 3.0),
                    progress: Callable[[Iterable], Iterable] | None = None) -> Path:
    """Write demo speakers under ``root`` in the VCTK 0.92 layout; returns ``root``.

    VCTK 0.92 (Yamagishi, Veaux and MacDonald 2019, https://doi.org/10.7488/ds/2645):
    ``wav48_silence_trimmed/<spk>/<spk>_<nnn>_mic1.flac`` and ``_mic2.flac`` (48 kHz),
    ``txt/<spk>/<spk>_<nnn>.txt`` and ``speaker-info.txt``. Speakers are p225, p226, ...
    alternating female and male. Idempotent and atomic as :func:`write_voicebank_demo`.
    """
    root = Path(root)
    _check_arguments(seconds, speakers=(speakers, 100), utterances_per_speaker=(utterances_per_speaker, None))
    params = {"corpus": "vctk", "seed": seed, "speakers": speakers,
              "utterances_per_speaker": utterances_per_speaker, "seconds": list(seconds)}
    owned = ["wav48_silence_trimmed", "txt", "speaker-info.txt"]
    if claim_demo_root(root, params, owned, "VCTK files"):
        log.info("VCTK demo corpus already complete at %s", root)
        return root
    cast = [(f"p{VCTK_FIRST_SPEAKER + s}", "FM"[s % 2]) for s in range(speakers)]
    jobs = [(speaker, sex, u) for speaker, sex in cast for u in range(utterances_per_speaker)]
    for speaker, sex, u in (progress or iter)(jobs):
        number = int(speaker[1:])
        voice = random_voice(np.random.default_rng([seed, number]), sex)
        speech, transcript = _demo_utterance(voice, seconds, np.random.default_rng([seed, 2, number, u]),
                                             SAMPLE_RATE)
        name = f"{speaker}_{u + 1:03d}"
        mic1 = _limit_peak(speech)
        # The second microphone sits farther away: a little later, duller and quieter.
        mic2 = 0.7 * np.convolve(np.concatenate([np.zeros(24), mic1]), [0.6, 0.4])[:mic1.size]
        for mic, audio in (("mic1", mic1), ("mic2", mic2)):
            write_audio(root / "wav48_silence_trimmed" / speaker / f"{name}_{mic}.flac", audio, SAMPLE_RATE,
                        subtype="PCM_16")
        write_text_atomic(root / "txt" / speaker / f"{name}.txt", transcript + "\n")
    info = ["ID  AGE  GENDER  ACCENTS  REGION  COMMENTS"]
    info += [f"{speaker}  {23 + i % 7}  {sex}  English  Synthetic  (wavegen demo, eSpeak NG)"
             for i, (speaker, sex) in enumerate(cast)]
    write_text_atomic(root / "speaker-info.txt", "\n".join(info) + "\n")
    mark_demo_complete(root, params)
    log.info("wrote VCTK demo corpus (%d speakers, %d utterances) to %s", speakers, len(jobs), root)
    return root


def _demo_utterance(voice: Voice, seconds: tuple[float, float], rng: np.random.Generator, sample_rate: int,
                    level_db: tuple[float, float] = (-27, -23)) -> tuple[np.ndarray, str]:
    """One sentence spoken by ``voice``, ``seconds[0]``..``seconds[1]`` long with its silences, and its text.

    The level of the speech (from its first to its last word) is drawn from
    ``level_db`` dBFS; a pink room tone 40-50 dB below it runs throughout.
    """
    shortest, longest = seconds
    lead, tail = rng.uniform(0.12, 0.3), rng.uniform(0.15, 0.4)        # natural silences (s)
    words_per_second = voice.rate / 60 * 1.3                           # eSpeak speaks our short words fast
    budget = max(1, int((rng.uniform(shortest, longest) - lead - tail) * words_per_second))
    seed = int(rng.integers(2 ** 31))
    for attempt in range(20):
        text = sentence(rng, max_words=budget, min_words=max(1, budget - 1))
        speech = speak(text, voice, sample_rate, seed=seed)
        if speech.seconds <= longest - 0.1:                # room for at least 50 ms either side
            break
        budget = max(1, budget - 1)
        if attempt >= 10:                                    # one word is still too long: speak faster
            voice = replace(voice, rate=min(int(voice.rate * 1.15), 450))
    else:
        raise ValueError(f"seconds={seconds} is too short for a spoken word")
    # Squeeze the silences into what the longest length leaves, or stretch them to the shortest.
    total = np.clip(speech.seconds + lead + tail, shortest, longest)
    head = int((total - speech.seconds) * lead / (lead + tail) * sample_rate)
    end = int(np.ceil(total * sample_rate)) - head - speech.audio.size
    speech_level = np.sqrt(np.mean(speech.audio.astype(np.float64) ** 2)) + 1e-12
    audio = np.concatenate([np.zeros(head), speech.audio / speech_level, np.zeros(end)])
    audio += 10 ** (rng.uniform(-50, -40) / 20) * make_noise("pink", audio.size, rng, [], sample_rate)
    return audio * 10 ** (rng.uniform(*level_db) / 20), text


def _limit_peak(audio: np.ndarray, peak: float = 0.89) -> np.ndarray:
    return audio * min(1.0, peak / (np.abs(audio).max() + 1e-12))
