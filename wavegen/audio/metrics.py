"""Objective speech-enhancement metrics: PESQ, STOI, the composite measures and SI-SDR, all together.

Every function takes 1-D float arrays (reference first, estimate second) at
sample rate ``fs`` and returns plain floats.

- ``pesq_wb``: wide-band PESQ, ITU-T P.862.2, through the ``pesq`` package.
- ``stoi``: STOI (Taal et al., "An algorithm for intelligibility prediction of
  time-frequency weighted noisy speech", IEEE TASLP 2011) and extended STOI
  (Jensen & Taal, IEEE TASLP 2016), through ``pystoi``.
- ``composite``: Csig, Cbak and Covl of Hu & Loizou (2008) from wide-band PESQ and
  the measures of their ``composite.m`` (segmental SNR, LLR, WSS), which
  :mod:`wavegen.audio.composite` computes as composite.m does.
- ``si_sdr``: scale-invariant SDR, Le Roux et al., "SDR - half-baked or well
  done?", ICASSP 2019, eq. (1).
- ``evaluate_pair`` (every metric, keyed as in :data:`METRIC_NAMES`), ``mean_scores``
  and ``evaluate_pair_with_reasons``.

Inputs of the wrong shape or of different lengths raise :class:`WavegenError`.
A measure that is undefined for a valid input (PESQ or STOI of a silent or
too-short signal, frame-based measures of a signal shorter than one frame) is
returned as NaN and logged as a warning, so that one bad file does not stop a
folder evaluation. :func:`evaluate_pair_with_reasons` returns the reasons
instead (logging them only at debug level), for a caller that reports them.
"""

from __future__ import annotations

import logging
import math
import warnings

import numpy as np
import pesq as pesq_package
import pystoi

from wavegen.audio.composite import composite_from_measures, llr, segmental_snr, wss
from wavegen.audio.io import resample
from wavegen.audio.metric_base import checked_pair, collecting_reasons, note, undefined

log = logging.getLogger(__name__)

METRIC_NAMES = ("pesq", "stoi", "estoi", "ssnr", "llr", "wss", "csig", "cbak", "covl", "si_sdr")

PESQ_SAMPLE_RATE = 16000

# pystoi 0.4.1 (after Taal's stoi.m): 10 kHz, 256-sample frames with a 128 hop, and
# intermediate intelligibility over segments of 30 STFT frames
STOI_RATE, STOI_FRAME, STOI_HOP, STOI_SEGMENT = 10000, 256, 128, 30
TOO_FEW_STOI_FRAMES = "fewer than 30 frames with speech"
TOO_SHORT_FOR_STOI = "shorter than 0.41 s, the 30 frames STOI needs"


# --------------------------------------------------------------------------- PESQ, STOI

def pesq_wb(reference: np.ndarray, estimate: np.ndarray, fs: int) -> float:
    """Wide-band PESQ (ITU-T P.862.2, MOS-LQO) of ``estimate`` against ``reference``.

    Signals at another rate are resampled to 16 kHz first, as P.862.2 requires.
    Returns NaN (and logs why) when PESQ is undefined: a signal shorter than
    0.25 s, no speech detected in the reference, or an all-zero signal.
    """
    reference, estimate = checked_pair(reference, estimate)
    if fs != PESQ_SAMPLE_RATE:
        reference = resample(reference, fs, PESQ_SAMPLE_RATE).double().numpy()
        estimate = resample(estimate, fs, PESQ_SAMPLE_RATE).double().numpy()
    silent = _silent_side(reference, estimate)
    if silent:
        # the package divides by the peak of both signals and fails with an unrelated message
        return undefined(log, "pesq", f"the {silent} is all zeros")
    try:
        return float(pesq_package.pesq(PESQ_SAMPLE_RATE, reference, estimate, "wb"))
    except pesq_package.PesqError as exc:  # NoUtterancesError, BufferTooShortError
        message = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        return undefined(log, "pesq", message)


def stoi(reference: np.ndarray, estimate: np.ndarray, fs: int, extended: bool = False) -> float:
    """STOI (Taal et al. 2011) or, with ``extended=True``, ESTOI (Jensen & Taal 2016).

    ``pystoi`` resamples to 10 kHz itself and drops the frames more than 40 dB
    below the reference's loudest. Returns NaN (and logs why) where the measure
    is undefined:

    - fewer than 30 frames are left (STOI correlates 30-frame segments). pystoi
      warns and returns a placeholder 1e-5 there, which would pass for a score
      and drag a mean down; a signal of 0.41 s or less (at 10 kHz: 4096
      samples, 30 frames) never has enough, and pystoi crashes below one frame,
      so that case is decided here without calling it;
    - the reference or the estimate is all zeros: a correlation with a constant
      is 0/0. pystoi returns 0 (STOI) or a small random number (ESTOI, which
      adds eps-sized noise) there.
    """
    reference, estimate = checked_pair(reference, estimate)
    name = "estoi" if extended else "stoi"
    silent = _silent_side(reference, estimate)
    if silent:
        return undefined(log, name, f"the {silent} is all zeros")
    if _stoi_frame_count(len(reference), fs) - 1 < STOI_SEGMENT:
        return undefined(log, name, TOO_SHORT_FOR_STOI)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = float(pystoi.stoi(reference, estimate, fs, extended=extended))
    placeholder = False
    for warning in caught:
        if "Not enough STFT frames" in str(warning.message):
            placeholder = True
        else:
            log.warning("%s: %s", name, warning.message)
    if placeholder:
        return undefined(log, name, TOO_FEW_STOI_FRAMES)
    return value


def _stoi_frame_count(length: int, fs: int) -> int:
    """How many frames pystoi's silent-frame removal sees in a signal of ``length`` samples.

    pystoi resamples with ``resample_poly`` (ceil(length * 10000 / fs) samples)
    and takes frames at range(0, length - 256, 128). Keeping all M of them
    leaves M - 1 STFT frames, so M - 1 < 30 means the 1e-5 placeholder.
    """
    resampled = length if fs == STOI_RATE else -(-length * STOI_RATE // fs)
    return max(0, -(-(resampled - STOI_FRAME) // STOI_HOP))


def _silent_side(reference: np.ndarray, estimate: np.ndarray) -> str | None:
    if not np.any(reference):
        return "reference"
    if not np.any(estimate):
        return "estimate"
    return None


# --------------------------------------------------------------------------- composite

def composite(reference: np.ndarray, estimate: np.ndarray, fs: int, *,
              pesq: float | None = None) -> dict[str, float]:
    """Csig, Cbak and Covl (Hu & Loizou 2008, eqs. (7)-(9)) with their parts.

    Returns ``{"csig", "cbak", "covl", "pesq", "ssnr", "llr", "wss"}``. The
    parts are composite.m's (LLR uncapped, see :func:`wavegen.audio.composite.llr`), except PESQ: here
    it is wide-band PESQ (P.862.2 MOS-LQO) of the signals resampled to 16 kHz,
    as VoiceBank-DEMAND results usually report it; composite.m used raw
    narrow-band P.862 scores. Pass ``pesq`` to reuse a score already computed.
    A model whose parts are not all finite is NaN (see
    :func:`wavegen.audio.composite.composite_from_measures`).
    """
    reference, estimate = checked_pair(reference, estimate)
    if pesq is None:
        pesq = pesq_wb(reference, estimate, fs)
    parts = {"pesq": float(pesq), "ssnr": segmental_snr(reference, estimate, fs),
             "llr": llr(reference, estimate, fs), "wss": wss(reference, estimate, fs)}
    return {**composite_from_measures(**parts), **parts}


# --------------------------------------------------------------------------- SI-SDR

def si_sdr(reference: np.ndarray, estimate: np.ndarray, *, zero_mean: bool = False) -> float:
    """Scale-invariant SDR in dB (Le Roux et al. 2019, eq. (1)).

    s_target = (<s_hat, s> / |s|^2) s, e = s_hat - s_target,
    SI-SDR = 10 log10(|s_target|^2 / |e|^2). The paper assumes zero-mean
    signals; ``zero_mean=True`` removes the means first. An estimate that is
    the reference times a non-zero gain gives +inf, one orthogonal to it -inf;
    an all-zero reference or estimate gives NaN.
    """
    reference, estimate = checked_pair(reference, estimate)
    if zero_mean:
        reference, estimate = reference - reference.mean(), estimate - estimate.mean()
    after = " after removing its mean" if zero_mean else ""
    reference_energy = _dot(reference, reference)
    if reference_energy == 0:
        return undefined(log, "si_sdr", f"the reference is all zeros{after}")
    if not np.any(estimate):
        return undefined(log, "si_sdr", f"the estimate is all zeros{after}")
    target = (_dot(estimate, reference) / reference_energy) * reference
    error = estimate - target
    with np.errstate(divide="ignore"):
        value = float(10 * np.log10(_dot(target, target) / _dot(error, error)))
    if value == math.inf:
        note("si_sdr", "estimate identical to reference" if np.array_equal(estimate, reference)
             else "estimate is the reference times a gain")
    elif value == -math.inf:
        note("si_sdr", "estimate orthogonal to the reference")
    return value


def _dot(a: np.ndarray, b: np.ndarray) -> np.float64:
    # a plain reduction: BLAS dot wakes its thread pool, which costs more than the sum itself;
    # kept as np.float64 so that x / 0 is inf rather than ZeroDivisionError
    return np.sum(a * b)


# --------------------------------------------------------------------------- all together

def evaluate_pair(reference: np.ndarray, estimate: np.ndarray, fs: int) -> dict[str, float]:
    """Every metric for one (reference, estimate) pair, keyed as in :data:`METRIC_NAMES`."""
    reference, estimate = checked_pair(reference, estimate)
    pesq = pesq_wb(reference, estimate, fs)
    scores = composite(reference, estimate, fs, pesq=pesq)
    scores["stoi"] = stoi(reference, estimate, fs)
    scores["estoi"] = stoi(reference, estimate, fs, extended=True)
    scores["si_sdr"] = si_sdr(reference, estimate)
    return {name: scores[name] for name in METRIC_NAMES}


def mean_scores(pairs, fs: int) -> dict[str, float]:
    """Mean of every metric over ``(reference, estimate)`` pairs, NaN scores left out of a mean."""
    rows = [evaluate_pair(reference, estimate, fs) for reference, estimate in pairs]
    means = {}
    for name in METRIC_NAMES:
        finite = [r[name] for r in rows if math.isfinite(r[name])]
        means[name] = float(np.mean(finite)) if finite else math.nan
    return means


def evaluate_pair_with_reasons(reference: np.ndarray, estimate: np.ndarray,
                               fs: int) -> tuple[dict[str, float], dict[str, str]]:
    """:func:`evaluate_pair`, and for each score that is NaN or infinite a short reason.

    ``({"pesq": nan, ...}, {"pesq": "the estimate is all zeros", ...})``
    """
    with collecting_reasons() as reasons:
        scores = evaluate_pair(reference, estimate, fs)
    return scores, {metric: reasons.get(metric, "no reason recorded")
                    for metric, value in scores.items() if not math.isfinite(value)}


