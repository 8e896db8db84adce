"""An embedded synthetic corpus written in the exact VoiceBank-DEMAND layout.

VoiceBank-DEMAND (Valentini-Botinhao, Wang, Takaki and Yamagishi, "Investigating
RNN-based speech enhancement methods for noise-robust text-to-speech", SSW 2016;
Edinburgh DataShare, doi:10.7488/ds/2117) mixes VCTK read speech with DEMAND
noise at 15/10/5/0 dB SNR for training and 17.5/12.5/7.5/2.5 dB for testing.
:func:`write_voicebank_demo` writes the same folders, file names, 48 kHz 16-bit
mono WAVs, noise logs and transcripts, so the demo goes through the real reader
(:mod:`wavegen.data.voicebank`). Only the audio is ours (:mod:`wavegen.data.synth`):

* speech from a small source-filter synthesiser: a Rosenberg glottal pulse
  (Rosenberg 1971, JASA 49(2B)) differentiated for lip radiation, with jitter,
  shimmer, aspiration and an f0 contour with declination and pitch accents,
  through a cascade of formant resonators (Klatt 1980, JASA 67(3)) whose targets
  are the Peterson & Barney (1952) vowel averages scaled per speaker (vocal
  tract length), moving smoothly between vowels and consonant loci; fricatives
  and plosive bursts are shaped noise, nasals a weak low-F1 murmur; a faint
  room tone keeps pauses from being digital silence (which PESQ finds unnatural);
* noise of a few stationary and non-stationary kinds standing in for the
  DEMAND recordings, the same kinds in train and test but different instances.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from wavegen.audio.io import write_audio
from wavegen.core.files import write_text_atomic
from wavegen.data.synth import (NOISE_KINDS, SAMPLE_RATE, make_noise, mix_at_snr, random_voice,
                                synthesize_speech)
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

_MARKER = ".wavegen_demo.json"
_DEMO_VERSION = 1


# ---------------------------------------------------------------- the corpus

def write_voicebank_demo(root: str | Path, *, seed: int = 0, train_speakers: int = 8,
                         train_utterances_per_speaker: int = 20, test_speakers: int = 2,
                         test_utterances_per_speaker: int = 10, seconds: tuple[float, float] = (1.5, 2.5),
                         trainset: str = "28spk",
                         progress: Callable[[Iterable], Iterable] | None = None) -> Path:
    """Write the synthetic corpus under ``root`` in the VoiceBank-DEMAND layout; returns ``root``.

    Deterministic for a seed. A complete corpus with the same arguments is left
    alone; the marker ``.wavegen_demo.json`` is written last, so an interrupted
    run is regenerated next time. ``trainset`` ("28spk" or "56spk") only changes
    the folder names. ``progress`` wraps the loop over utterances (e.g. ``tqdm``).
    """
    root = Path(root)
    if not 1 <= train_speakers <= len(TRAIN_SPEAKERS) or not 1 <= test_speakers <= len(TEST_SPEAKERS):
        raise ValueError(f"train_speakers must be 1..{len(TRAIN_SPEAKERS)}, "
                         f"test_speakers 1..{len(TEST_SPEAKERS)}")
    if trainset not in ("28spk", "56spk") or not 0.3 <= seconds[0] <= seconds[1]:
        raise ValueError("trainset must be '28spk' or '56spk', seconds a (min, max) pair of at least 0.3 s")
    params = {"version": _DEMO_VERSION, "seed": seed, "train_speakers": train_speakers,
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
        n = int(rng.uniform(*seconds) * SAMPLE_RATE)
        speech, transcript = synthesize_speech(voice, n, rng)
        # A faint room tone, as in any real recording: digital silence is not speech-like.
        speech += 10 ** (rng.uniform(-50, -40) / 20) * make_noise("pink", n, rng, [])
        clean = speech * 10 ** (rng.uniform(-28, -22) / 20) / np.sqrt(np.mean(speech ** 2))   # dBFS
        clean, noisy = mix_at_snr(clean, make_noise(kind, n, rng, talkers), snr)
        name = f"{speaker}_{utterance + 1:03d}"
        write_audio(root / f"clean_{tag}_wav" / f"{name}.wav", clean, SAMPLE_RATE, subtype="PCM_16")
        write_audio(root / f"noisy_{tag}_wav" / f"{name}.wav", noisy, SAMPLE_RATE, subtype="PCM_16")
        write_text_atomic(root / f"{tag}_txt" / f"{name}.txt", transcript + "\n")
        logs.setdefault(tag, []).append(f"{name} {kind} {snr:g}")
    for tag, lines in logs.items():
        write_text_atomic(root / f"log_{tag}.txt", "\n".join(lines) + "\n")
    write_text_atomic(root / _MARKER, json.dumps({"complete": True, **params}))
    log.info("wrote VoiceBank-DEMAND demo corpus (%d utterances) to %s", len(jobs), root)
    return root


def _demo_is_complete(root: Path, params: dict) -> bool:
    """True if ``root`` holds this exact corpus; otherwise clear what an earlier run left and mark it ours."""
    marker = root / _MARKER
    try:
        previous = json.loads(marker.read_text()) if marker.is_file() else None
    except (OSError, ValueError):
        previous = {}                    # our marker, unreadable: regenerate
    if previous == {"complete": True, **params}:
        return True
    owned = [name for tag in ("trainset_28spk", "trainset_56spk", "testset")
             for name in (f"clean_{tag}_wav", f"noisy_{tag}_wav", f"{tag}_txt", f"log_{tag}.txt")]
    if previous is None and any((root / name).exists() for name in owned):
        raise DatasetError(f"{root} already holds VoiceBank-style folders that the demo did not write; "
                           "refusing to overwrite them (choose an empty folder for the demo corpus)")
    for path in (root / name for name in owned):
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    write_text_atomic(marker, json.dumps({"complete": False, **params}))
    return False


def _babble_talkers(rng: np.random.Generator, longest_s: float, count: int = 6) -> list[np.ndarray]:
    """Talkers outside the corpus, each two utterances long, to crop babble from."""
    voices = [random_voice(rng, str(rng.choice(["M", "F"]))) for _ in range(count)]
    return [np.concatenate([synthesize_speech(voice, int(longest_s * SAMPLE_RATE), rng)[0] for _ in range(2)])
            for voice in voices]

