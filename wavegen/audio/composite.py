"""Hu & Loizou's composite measures, computed as their ``composite.m`` computes them.

Segmental SNR, LLR and WSS, and the three regression models (Csig, Cbak, Covl) of
Hu & Loizou, "Evaluation of objective quality measures for speech enhancement",
IEEE TASLP 16(1), 2008, as in their ``composite.m`` (Loizou, "Speech Enhancement:
Theory and Practice", revision 10/09/2006): ``eps`` added to both signals, 30 ms
frames, a quarter-frame hop, MATLAB's ``hanning`` window, and the mean over the best
95% of frames for LLR and WSS. The LLR is composite.m's, with no per-frame cap: the
[0, 2] clamp of the stand-alone ``comp_llr.m`` is not part of composite.m, and with
digital silence between words it changes Csig by more than 2 points.

Each measure takes 1-D float arrays (reference first, estimate second) at sample rate
``fs`` and returns a plain float; a signal shorter than one frame gives NaN (see
:mod:`wavegen.audio.metric_base`). :func:`wavegen.audio.metrics.composite` puts the
models together with wide-band PESQ.
"""

from __future__ import annotations

import functools
import logging
import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from wavegen.audio.metric_base import checked_pair, note, undefined, warning_level

log = logging.getLogger(__name__)

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

SHORTER_THAN_ONE_FRAME = "shorter than one 30 ms frame plus a hop"


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
    reference, estimate = checked_pair(reference, estimate)
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
        undefined(log, name, SHORTER_THAN_ONE_FRAME)
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
    undefined_frames = int(np.isnan(per_frame).sum())
    if math.isnan(value):
        if undefined_frames > len(per_frame) - _matlab_round(len(per_frame) * BEST_FRAME_FRACTION):
            reason = (f"{undefined_frames} of {len(per_frame)} frames have no LLR (frames of zeros after the added "
                      f"eps, or a failed LPC recursion), more than the worst 5% left out")
        else:
            reason = "frame LLRs of both +inf and -inf"
        return undefined(log, "llr", reason)
    if math.isinf(value):
        log.log(warning_level(), "llr is %s: a frame's LPC prediction error is exactly zero", value)
        note("llr", "a frame's LPC prediction error is exactly zero")
    elif undefined_frames:
        log.info("llr: %d of %d frames have no LLR; left out with the worst 5%%", undefined_frames, len(per_frame))
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


# --------------------------------------------------------------------------- the regression models

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
            note(name, ", ".join(f"{part} undefined" if math.isnan(parts[part]) else f"{part} is {parts[part]:+}"
                                 for part in missing))
            scores[name] = math.nan
        else:
            scores[name] = float(np.clip(model(), 1.0, 5.0))
    return scores

