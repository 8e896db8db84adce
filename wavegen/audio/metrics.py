"""Objective speech-enhancement metrics: PESQ, STOI, the composite measures and SI-SDR.

Every function takes 1-D float arrays (reference first, estimate second) at
sample rate ``fs`` and returns plain floats.

- ``pesq_wb``: wide-band PESQ, ITU-T P.862.2, through the ``pesq`` package.
- ``stoi``: STOI (Taal et al., "An algorithm for intelligibility prediction of
  time-frequency weighted noisy speech", IEEE TASLP 2011) and extended STOI
  (Jensen & Taal, IEEE TASLP 2016), through ``pystoi``.
- ``segmental_snr``, ``llr``, ``wss`` and ``composite``: the measures and the
  three regression models (Csig, Cbak, Covl) of Hu & Loizou, "Evaluation of
  objective quality measures for speech enhancement", IEEE TASLP 16(1), 2008,
  computed as their ``composite.m`` (Loizou, "Speech Enhancement: Theory and
  Practice", revision 10/09/2006) computes them: ``eps`` added to both
  signals, 30 ms frames, a quarter-frame hop, MATLAB's ``hanning`` window, and
  the mean over the best 95% of frames for LLR and WSS. The LLR is composite.m's,
  with no per-frame cap: the [0, 2] clamp of the stand-alone ``comp_llr.m`` is
  not part of composite.m, and with digital silence between words it changes
  Csig by more than 2 points.
- ``si_sdr``: scale-invariant SDR, Le Roux et al., "SDR - half-baked or well
  done?", ICASSP 2019, eq. (1).

Inputs of the wrong shape or of different lengths raise :class:`WavegenError`.
A measure that is undefined for a valid input (PESQ or STOI of a silent or
too-short signal, frame-based measures of a signal shorter than one frame) is
returned as NaN and logged as a warning, so that one bad file does not stop a
folder evaluation. :func:`evaluate_pair_with_reasons` returns the reasons
instead (logging them only at debug level), for a caller that reports them.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import math
import warnings

import numpy as np
import pesq as pesq_package
import pystoi
from numpy.lib.stride_tricks import sliding_window_view

from wavegen.audio.io import resample
from wavegen.errors import WavegenError

log = logging.getLogger(__name__)

METRIC_NAMES = ("pesq", "stoi", "estoi", "ssnr", "llr", "wss", "csig", "cbak", "covl", "si_sdr")
# The measures speech-enhancement results report (higher is better), each with the span of its scale:
# wide-band PESQ 1-4.5 (P.862.2), STOI and ESTOI 0-1, the composite models 1-5 and segmental SNR
# -10..35 dB (composite.m's clamp). :func:`min_gain` compares systems across them.
REPORTED_SCALES = {"pesq": 3.5, "stoi": 1.0, "estoi": 1.0, "csig": 4.0, "cbak": 4.0, "covl": 4.0, "ssnr": 45.0}

PESQ_SAMPLE_RATE = 16000
SEGMENTAL_SNR_RANGE_DB = (-10.0, 35.0)   # composite.m MIN_SNR, MAX_SNR
BEST_FRAME_FRACTION = 0.95               # composite.m alpha
WSS_KMAX = 20.0                          # Klatt (1982), p. 1280
WSS_KLOCMAX = 1.0

# Klatt's 25 critical bands as listed in composite.m: centre frequency, bandwidth (Hz).
CRITICAL_BAND_CENTRES_HZ = np.array([
    50.0, 120.0, 190.0, 260.0, 330.0, 400.0, 470.0, 540.0, 617.372, 703.378,
    798.717, 904.128, 1020.38, 1148.30, 1288.72, 1442.54, 1610.70, 1794.16,
    1993.93, 2211.08, 2446.71, 2701.97, 2978.04, 3276.17, 3597.63])
CRITICAL_BAND_WIDTHS_HZ = np.array([
    70.0, 70.0, 70.0, 70.0, 70.0, 70.0, 70.0, 77.3724, 86.0056, 95.3398,
    105.411, 116.256, 127.914, 140.423, 153.823, 168.154, 183.457, 199.776,
    217.153, 235.631, 255.255, 276.072, 298.126, 321.465, 346.136])

_EPS = float(np.finfo(np.float64).eps)   # MATLAB's eps, which composite.m adds to both signals

# pystoi 0.4.1 (after Taal's stoi.m): 10 kHz, 256-sample frames with a 128 hop, and
# intermediate intelligibility over segments of 30 STFT frames
STOI_RATE, STOI_FRAME, STOI_HOP, STOI_SEGMENT = 10000, 256, 128, 30
TOO_FEW_STOI_FRAMES = "fewer than 30 frames with speech"
TOO_SHORT_FOR_STOI = "shorter than 0.41 s, the 30 frames STOI needs"

SHORTER_THAN_ONE_FRAME = "shorter than one 30 ms frame plus a hop"


# --------------------------------------------------------------------------- why a value is undefined

# While evaluate_pair_with_reasons runs, the metrics note here why a value is NaN or
# infinite; a context variable keeps every metric's signature (and return type) plain.
_REASONS: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "wavegen_metric_reasons", default=None)


def _undefined(metric: str, reason: str) -> float:
    """Log why ``metric`` is undefined, note it for the caller, and return NaN."""
    # a caller collecting reasons reports them itself; a warning too would say it twice
    level = logging.WARNING if _REASONS.get() is None else logging.DEBUG
    log.log(level, "%s undefined: %s", metric, reason)
    _note(metric, reason)
    return math.nan


def _note(metric: str, reason: str) -> None:
    reasons = _REASONS.get()
    if reasons is not None:
        reasons.setdefault(metric, reason)


# --------------------------------------------------------------------------- PESQ, STOI

def pesq_wb(reference: np.ndarray, estimate: np.ndarray, fs: int) -> float:
    """Wide-band PESQ (ITU-T P.862.2, MOS-LQO) of ``estimate`` against ``reference``.

    Signals at another rate are resampled to 16 kHz first, as P.862.2 requires.
    Returns NaN (and logs why) when PESQ is undefined: a signal shorter than
    0.25 s, no speech detected in the reference, or an all-zero signal.
    """
    reference, estimate = _checked_pair(reference, estimate)
    if fs != PESQ_SAMPLE_RATE:
        reference = resample(reference, fs, PESQ_SAMPLE_RATE).double().numpy()
        estimate = resample(estimate, fs, PESQ_SAMPLE_RATE).double().numpy()
    silent = _silent_side(reference, estimate)
    if silent:
        # the package divides by the peak of both signals and fails with an unrelated message
        return _undefined("pesq", f"the {silent} is all zeros")
    try:
        return float(pesq_package.pesq(PESQ_SAMPLE_RATE, reference, estimate, "wb"))
    except pesq_package.PesqError as exc:  # NoUtterancesError, BufferTooShortError
        message = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        return _undefined("pesq", message)


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
    reference, estimate = _checked_pair(reference, estimate)
    name = "estoi" if extended else "stoi"
    silent = _silent_side(reference, estimate)
    if silent:
        return _undefined(name, f"the {silent} is all zeros")
    if _stoi_frame_count(len(reference), fs) - 1 < STOI_SEGMENT:
        return _undefined(name, TOO_SHORT_FOR_STOI)
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
        return _undefined(name, TOO_FEW_STOI_FRAMES)
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


# --------------------------------------------------------------------------- composite.m framing

def composite_frames(signal: np.ndarray, fs: int) -> np.ndarray:
    """``(frames, winlength)`` Hann-windowed frames exactly as composite.m cuts them.

    winlength = round(30 ms * fs), hop = floor(winlength / 4), window
    0.5 (1 - cos(2 pi n / (winlength + 1))) for n = 1..winlength, and
    floor(len / hop - winlength / hop) frames from the first sample (so the
    tail that does not fill a whole hop is dropped, as there).
    """
    winlength, hop = _frame_geometry(fs)
    num_frames = max(int(math.floor(len(signal) / hop - winlength / hop)), 0)
    if num_frames == 0:
        return np.zeros((0, winlength))
    frames = sliding_window_view(signal, winlength)[::hop][:num_frames]
    return frames * _matlab_hanning(winlength)


def _frame_geometry(fs: int) -> tuple[int, int]:
    winlength = _matlab_round(30 * fs / 1000)
    return winlength, winlength // 4


def _matlab_round(x: float) -> int:
    """MATLAB's ``round`` for x >= 0: halves go up. (floor(x + 0.5) is not quite it:
    0.49999999999999994 + 0.5 rounds to 1.0 in floating point.)"""
    whole = math.floor(x)
    return whole + (1 if x - whole >= 0.5 else 0)   # x - floor(x) is exact for x >= 0


@functools.lru_cache(maxsize=8)
def _matlab_hanning(winlength: int) -> np.ndarray:
    n = np.arange(1, winlength + 1)
    return 0.5 * (1 - np.cos(2 * np.pi * n / (winlength + 1)))


def _composite_input(reference, estimate, fs: int) -> tuple[np.ndarray, np.ndarray]:
    reference, estimate = _checked_pair(reference, estimate)
    # composite.m adds eps to both signals, which keeps LPC defined on digital silence
    return composite_frames(reference + _EPS, fs), composite_frames(estimate + _EPS, fs)


def _mean_of_best(values: np.ndarray, fraction: float = BEST_FRAME_FRACTION) -> float:
    """composite.m's ``mean(sort(v)(1:round(length(v) * alpha)))``.

    numpy's sort orders as MATLAB's does: -inf first, +inf after every finite
    value, NaN last. So NaN values (undefined frames) fall among the dropped
    worst 5% and make the mean NaN only when there are more of them than that;
    a -inf makes it -inf; +inf and -inf together make it NaN, as in MATLAB.
    """
    keep = _matlab_round(len(values) * fraction)
    if keep == 0:
        return math.nan
    with np.errstate(invalid="ignore"):   # inf - inf inside the mean: NaN, as in MATLAB
        return float(np.mean(np.sort(values)[:keep]))


def _warn_if_no_frames(frames: np.ndarray, name: str) -> bool:
    if len(frames) == 0:
        _undefined(name, SHORTER_THAN_ONE_FRAME)
        return True
    return False


# --------------------------------------------------------------------------- segmental SNR

def segmental_snr(reference: np.ndarray, estimate: np.ndarray, fs: int) -> float:
    """Segmental SNR in dB: per-frame SNR clamped to [-10, 35] dB, averaged over all frames.

    As in composite.m, a frame of digital silence in the reference scores -10 dB
    even when the estimate matches it (its energy is only the added eps).
    """
    reference_frames, estimate_frames = _composite_input(reference, estimate, fs)
    if _warn_if_no_frames(reference_frames, "ssnr"):
        return math.nan
    return float(np.mean(segmental_snr_per_frame(reference_frames, estimate_frames)))


def segmental_snr_per_frame(reference_frames: np.ndarray, estimate_frames: np.ndarray) -> np.ndarray:
    """10 log10(|s|^2 / (|s - s_hat|^2 + eps) + eps) per frame, clamped to [-10, 35] dB."""
    signal_energy = np.sum(reference_frames ** 2, axis=1)
    noise_energy = np.sum((reference_frames - estimate_frames) ** 2, axis=1)
    snr = 10 * np.log10(signal_energy / (noise_energy + _EPS) + _EPS)
    return np.clip(snr, *SEGMENTAL_SNR_RANGE_DB)


# --------------------------------------------------------------------------- LLR

def lpc_order(fs: int) -> int:
    """composite.m's LPC order: 10 below 10 kHz, 16 otherwise (so 16 at 16 kHz)."""
    return 10 if fs < 10000 else 16


def llr(reference: np.ndarray, estimate: np.ndarray, fs: int) -> float:
    """Log-likelihood ratio (Itakura) as composite.m computes it: mean of the best 95% of frames.

    d = log( a_hat^T R a_hat / a^T R a ) per frame, with a and a_hat the LPC
    vectors of the reference and estimate frames and R the reference's
    autocorrelation (Toeplitz) matrix; Hu & Loizou (2008), eq. (2). The LPC
    order is composite.m's (:func:`lpc_order`): 16 at 16 kHz, 10 below 10 kHz.
    Frames are not capped: where the reference is digital silence (only the
    added eps) and the estimate is not, d reaches 20 or more, and those frames
    count unless they are among the worst 5%. (``comp_llr.m`` clamps each frame
    to [0, 2]; composite.m, whose LLR Csig and Covl were fitted with, does not.)

    A frame without a value (NaN: see :func:`llr_per_frame`) sorts last, as in
    MATLAB, so up to 5% of them drop out with the worst frames; with more the
    result is NaN. The result is +-inf only if some frame's ratio is 0 or
    infinite (an LPC prediction error of exactly zero), which MATLAB would
    report the same way.
    """
    reference_frames, estimate_frames = _composite_input(reference, estimate, fs)
    if _warn_if_no_frames(reference_frames, "llr"):
        return math.nan
    per_frame = llr_per_frame(reference_frames, estimate_frames, lpc_order(fs))
    value = _mean_of_best(per_frame)
    undefined = int(np.isnan(per_frame).sum())
    if math.isnan(value):
        if undefined > len(per_frame) - _matlab_round(len(per_frame) * BEST_FRAME_FRACTION):
            reason = (f"{undefined} of {len(per_frame)} frames have no LLR (frames of zeros after the added "
                      f"eps, or a failed LPC recursion), more than the worst 5% left out")
        else:
            reason = "frame LLRs of both +inf and -inf"
        return _undefined("llr", reason)
    if math.isinf(value):
        log.log(logging.WARNING if _REASONS.get() is None else logging.DEBUG,
                "llr is %s: a frame's LPC prediction error is exactly zero", value)
        _note("llr", "a frame's LPC prediction error is exactly zero")
    elif undefined:
        log.info("llr: %d of %d frames have no LLR; left out with the worst 5%%", undefined, len(per_frame))
    return value


def llr_per_frame(reference_frames: np.ndarray, estimate_frames: np.ndarray, order: int) -> np.ndarray:
    """composite.m's per-frame LLR, log(numerator / denominator), without a cap.

    Where a frame has no value we keep what IEEE arithmetic gives, as MATLAB
    does: a frame of zeros has R = 0 and an LPC polynomial of NaN (0/0 in the
    recursion), hence NaN; x/0 gives +inf and log(0) gives -inf. One place
    differs: MATLAB's log of a negative ratio (only possible through rounding
    in an ill-conditioned frame) is complex; here it is NaN, an undefined frame.
    """
    r_ref, a_ref = lpc_autocorrelation(reference_frames, order)
    _, a_est = lpc_autocorrelation(estimate_frames, order)
    lags = np.abs(np.arange(order + 1)[:, None] - np.arange(order + 1)[None, :])
    toeplitz_ref = r_ref[:, lags]                                         # (F, P+1, P+1)
    numerator = np.einsum("fi,fij,fj->f", a_est, toeplitz_ref, a_est)
    denominator = np.einsum("fi,fij,fj->f", a_ref, toeplitz_ref, a_ref)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(numerator / denominator)


def lpc_autocorrelation(frames: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Autocorrelation lags 0..order and the LPC polynomial [1, -a_1, ..., -a_P] per frame.

    The autocorrelation method with the Levinson-Durbin recursion, run on all
    frames at once (one step per order instead of one loop per frame).
    """
    num_frames, winlength = frames.shape
    r = np.stack([np.sum(frames[:, : winlength - k] * frames[:, k:], axis=1)
                  for k in range(order + 1)], axis=1)                     # (F, P+1)
    a = np.zeros((num_frames, order))                                     # predictor a_1..a_P
    error = r[:, 0].copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        for m in range(1, order + 1):
            previous = a[:, : m - 1].copy()
            correlation = r[:, m] - np.sum(previous * r[:, m - 1:0:-1], axis=1)
            reflection = correlation / error
            a[:, : m - 1] = previous - reflection[:, None] * previous[:, ::-1]
            a[:, m - 1] = reflection
            error = (1 - reflection ** 2) * error
    return r, np.concatenate([np.ones((num_frames, 1)), -a], axis=1)


# --------------------------------------------------------------------------- WSS

def wss(reference: np.ndarray, estimate: np.ndarray, fs: int) -> float:
    """Weighted spectral slope distance (Klatt 1982), mean of the best 95% of frames.

    Per frame: critical-band energies in dB from the FFT power spectrum, slopes
    between neighbouring bands, and sum W (slope - slope_hat)^2 / sum W with
    Klatt's weights W = Kmax / (Kmax + dB_max - dB) * Klocmax / (Klocmax + dB_peak - dB)
    averaged over reference and estimate; Hu & Loizou (2008), eq. (3).
    """
    reference_frames, estimate_frames = _composite_input(reference, estimate, fs)
    if _warn_if_no_frames(reference_frames, "wss"):
        return math.nan
    return _mean_of_best(wss_per_frame(reference_frames, estimate_frames, fs))


def wss_per_frame(reference_frames: np.ndarray, estimate_frames: np.ndarray, fs: int) -> np.ndarray:
    filters, n_fft = critical_band_filters(fs, reference_frames.shape[1])
    ref_energy = _band_energies_db(reference_frames, filters, n_fft)     # (F, 25)
    est_energy = _band_energies_db(estimate_frames, filters, n_fft)
    ref_slope, est_slope = np.diff(ref_energy, axis=1), np.diff(est_energy, axis=1)
    weight = 0.5 * (_klatt_weights(ref_energy, ref_slope) + _klatt_weights(est_energy, est_slope))
    return np.sum(weight * (ref_slope - est_slope) ** 2, axis=1) / np.sum(weight, axis=1)


@functools.lru_cache(maxsize=8)
def critical_band_filters(fs: int, winlength: int) -> tuple[np.ndarray, int]:
    """composite.m's 25 Gaussian critical-band filters over FFT bins 0..n_fft/2-1, and n_fft.

    Each filter has equal area (scaled by the narrowest bandwidth) and is set
    to zero below its -30 dB point. The result is read-only because it is cached.
    """
    n_fft = 2 ** math.ceil(math.log2(2 * winlength))
    half = n_fft // 2
    centre_bins = np.floor(CRITICAL_BAND_CENTRES_HZ / (fs / 2) * half)
    width_bins = CRITICAL_BAND_WIDTHS_HZ / (fs / 2) * half
    log_area = np.log(CRITICAL_BAND_WIDTHS_HZ[0]) - np.log(CRITICAL_BAND_WIDTHS_HZ)
    bins = np.arange(half)
    filters = np.exp(-11 * ((bins[None, :] - centre_bins[:, None]) / width_bins[:, None]) ** 2
                     + log_area[:, None])
    filters *= filters > math.exp(-30.0 / (2.0 * 2.303))
    filters.flags.writeable = False
    return filters, n_fft


def _band_energies_db(frames: np.ndarray, filters: np.ndarray, n_fft: int) -> np.ndarray:
    power = np.abs(np.fft.rfft(frames, n_fft, axis=1)[:, : n_fft // 2]) ** 2
    return 10 * np.log10(np.maximum(power @ filters.T, 1e-10))


def _klatt_weights(energy: np.ndarray, slope: np.ndarray) -> np.ndarray:
    """Klatt's weight for bands 1..24: near the global maximum and near a local peak."""
    band = energy[:, :-1]
    global_term = WSS_KMAX / (WSS_KMAX + energy.max(axis=1, keepdims=True) - band)
    local_term = WSS_KLOCMAX / (WSS_KLOCMAX + _nearest_peak_db(energy, slope) - band)
    return global_term * local_term


def _nearest_peak_db(energy: np.ndarray, slope: np.ndarray) -> np.ndarray:
    """composite.m's local-peak search, vectorised over frames and bands.

    Rising slope: walk right to the first band n whose slope is not rising and
    take energy(n-1) (composite.m takes the band before the summit; we keep
    that). Otherwise walk left to the last rising slope n and take energy(n+1).
    """
    num_slopes = slope.shape[1]
    index = np.arange(num_slopes)
    rising = slope > 0
    first_fall_right = np.minimum.accumulate(np.where(rising, num_slopes, index)[:, ::-1], axis=1)[:, ::-1]
    last_rise_left = np.maximum.accumulate(np.where(rising, index, -1), axis=1)
    peak_band = np.where(rising, first_fall_right - 1, last_rise_left + 1)
    return np.take_along_axis(energy, peak_band, axis=1)


# --------------------------------------------------------------------------- composite

def composite(reference: np.ndarray, estimate: np.ndarray, fs: int, *,
              pesq: float | None = None) -> dict[str, float]:
    """Csig, Cbak and Covl (Hu & Loizou 2008, eqs. (7)-(9)) with their parts.

    Returns ``{"csig", "cbak", "covl", "pesq", "ssnr", "llr", "wss"}``. The
    parts are composite.m's (LLR uncapped, see :func:`llr`), except PESQ: here
    it is wide-band PESQ (P.862.2 MOS-LQO) of the signals resampled to 16 kHz,
    as VoiceBank-DEMAND results usually report it; composite.m used raw
    narrow-band P.862 scores. Pass ``pesq`` to reuse a score already computed.
    A model whose parts are not all finite is NaN (see
    :func:`composite_from_measures`).
    """
    reference, estimate = _checked_pair(reference, estimate)
    if pesq is None:
        pesq = pesq_wb(reference, estimate, fs)
    parts = {"pesq": float(pesq), "ssnr": segmental_snr(reference, estimate, fs),
             "llr": llr(reference, estimate, fs), "wss": wss(reference, estimate, fs)}
    return {**composite_from_measures(**parts), **parts}


def composite_from_measures(pesq: float, ssnr: float, llr: float, wss: float) -> dict[str, float]:
    """The three regression models of Hu & Loizou (2008), each clipped to [1, 5].

    A model is NaN when a part it uses is NaN or infinite. composite.m would
    report 1 there (MATLAB's ``max(1, NaN)`` is 1) or 1 or 5 for an infinite
    LLR; a score that only says a part was undefined is better left out of a
    mean than averaged in as the worst or best possible quality.
    """
    parts = {"pesq": pesq, "ssnr": ssnr, "llr": llr, "wss": wss}
    models = {"csig": (("llr", "pesq", "wss"), lambda: 3.093 - 1.029 * llr + 0.603 * pesq - 0.009 * wss),
              "cbak": (("pesq", "wss", "ssnr"), lambda: 1.634 + 0.478 * pesq - 0.007 * wss + 0.063 * ssnr),
              "covl": (("pesq", "llr", "wss"), lambda: 1.594 + 0.805 * pesq - 0.512 * llr - 0.007 * wss)}
    scores = {}
    for name, (uses, model) in models.items():
        missing = [part for part in uses if not math.isfinite(parts[part])]
        if missing:
            _note(name, ", ".join(f"{part} undefined" if math.isnan(parts[part]) else f"{part} is {parts[part]:+}"
                                  for part in missing))
            scores[name] = math.nan
        else:
            scores[name] = float(np.clip(model(), 1.0, 5.0))
    return scores


def min_gain(scores: dict[str, float], baseline: dict[str, float]) -> float:
    """The smallest improvement of ``scores`` over ``baseline`` among the reported measures.

    Each difference is divided by its measure's span (``REPORTED_SCALES``), so 0.01 is a hundredth of
    the scale: 0.035 PESQ, 0.01 STOI, 0.45 dB segmental SNR. Positive means better on every measure;
    the most negative measure decides. NaN when a measure is undefined on either side.
    """
    gains = [(scores[m] - baseline[m]) / span for m, span in REPORTED_SCALES.items()]
    return float(min(gains)) if all(math.isfinite(g) for g in gains) else math.nan


# --------------------------------------------------------------------------- SI-SDR

def si_sdr(reference: np.ndarray, estimate: np.ndarray, *, zero_mean: bool = False) -> float:
    """Scale-invariant SDR in dB (Le Roux et al. 2019, eq. (1)).

    s_target = (<s_hat, s> / |s|^2) s, e = s_hat - s_target,
    SI-SDR = 10 log10(|s_target|^2 / |e|^2). The paper assumes zero-mean
    signals; ``zero_mean=True`` removes the means first. An estimate that is
    the reference times a non-zero gain gives +inf, one orthogonal to it -inf;
    an all-zero reference or estimate gives NaN.
    """
    reference, estimate = _checked_pair(reference, estimate)
    if zero_mean:
        reference, estimate = reference - reference.mean(), estimate - estimate.mean()
    after = " after removing its mean" if zero_mean else ""
    reference_energy = _dot(reference, reference)
    if reference_energy == 0:
        return _undefined("si_sdr", f"the reference is all zeros{after}")
    if not np.any(estimate):
        return _undefined("si_sdr", f"the estimate is all zeros{after}")
    target = (_dot(estimate, reference) / reference_energy) * reference
    error = estimate - target
    with np.errstate(divide="ignore"):
        value = float(10 * np.log10(_dot(target, target) / _dot(error, error)))
    if value == math.inf:
        _note("si_sdr", "estimate identical to reference" if np.array_equal(estimate, reference)
              else "estimate is the reference times a gain")
    elif value == -math.inf:
        _note("si_sdr", "estimate orthogonal to the reference")
    return value


def _dot(a: np.ndarray, b: np.ndarray) -> np.float64:
    # a plain reduction: BLAS dot wakes its thread pool, which costs more than the sum itself;
    # kept as np.float64 so that x / 0 is inf rather than ZeroDivisionError
    return np.sum(a * b)


# --------------------------------------------------------------------------- all together

def evaluate_pair(reference: np.ndarray, estimate: np.ndarray, fs: int) -> dict[str, float]:
    """Every metric for one (reference, estimate) pair, keyed as in :data:`METRIC_NAMES`."""
    reference, estimate = _checked_pair(reference, estimate)
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
    reasons: dict[str, str] = {}
    token = _REASONS.set(reasons)
    try:
        scores = evaluate_pair(reference, estimate, fs)
    finally:
        _REASONS.reset(token)
    return scores, {metric: reasons.get(metric, "no reason recorded")
                    for metric, value in scores.items() if not math.isfinite(value)}


def _checked_pair(reference, estimate) -> tuple[np.ndarray, np.ndarray]:
    reference = np.asarray(reference, dtype=np.float64)
    estimate = np.asarray(estimate, dtype=np.float64)
    if reference.ndim != 1 or estimate.ndim != 1:
        raise WavegenError(f"metrics need 1-D signals, got shapes {reference.shape} and {estimate.shape}")
    if reference.shape != estimate.shape:
        raise WavegenError(f"reference and estimate differ in length "
                           f"({len(reference)} and {len(estimate)} samples)")
    if len(reference) == 0:
        raise WavegenError("metrics need non-empty signals")
    if not (np.all(np.isfinite(reference)) and np.all(np.isfinite(estimate))):
        raise WavegenError("signals contain NaN or infinite samples")
    return reference, estimate
