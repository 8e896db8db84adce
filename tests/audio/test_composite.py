"""The composite.m measures (segmental SNR, LLR, WSS, Csig/Cbak/Covl) on hand-computed cases and
against loop-by-loop implementations of composite.m."""

from __future__ import annotations

import math

import numpy as np
import pesq as pesq_package
import pytest
import scipy.linalg
import scipy.signal

from tests.speech_signals import FS, clean, noisy, speech_like  # noqa: F401 (clean, noisy: fixtures)
from wavegen.audio import composite, metrics


def ar_signal(coefficients, length: int, seed: int) -> np.ndarray:
    excitation = np.random.default_rng(seed).standard_normal(length)
    return scipy.signal.lfilter([1.0], np.r_[1.0, coefficients], excitation)


def loop_frames(x: np.ndarray, fs: int) -> list[np.ndarray]:
    """composite.m's framing written out plainly (with its + eps)."""
    winlength = int(round(0.03 * fs + 1e-9))
    hop = winlength // 4
    window = np.array([0.5 * (1 - math.cos(2 * math.pi * n / (winlength + 1))) for n in range(1, winlength + 1)])
    count = int(len(x) / hop - winlength / hop)
    x = x + np.finfo(float).eps
    return [x[i * hop: i * hop + winlength] * window for i in range(count)]


def mean_of_best_95(values) -> float:
    # MATLAB's sort puts NaN after everything, -Inf first and Inf just before the NaNs
    values = sorted(values, key=lambda v: (math.isnan(v), v))
    return float(np.mean(values[: int(math.floor(0.95 * len(values) + 0.5))]))


def composite_m_lpcoeff(frame: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]:
    """composite.m's lpcoeff, line by line (0-based): autocorrelation R, then Levinson-Durbin."""
    winlength = len(frame)
    R = np.array([np.sum(frame[: winlength - k] * frame[k:]) for k in range(order + 1)])
    a = np.ones(order)
    E = [R[0]]
    for i in range(order):
        a_past = a[:i].copy()
        sum_term = sum(a_past[j] * R[i - j] for j in range(i))
        rcoeff = (R[i + 1] - sum_term) / E[i]
        a[i] = rcoeff
        for j in range(i):
            a[j] = a_past[j] - rcoeff * a_past[i - 1 - j]
        E.append((1 - rcoeff * rcoeff) * E[i])
    return R, np.r_[1.0, -a]


def composite_m_llr(clean: np.ndarray, processed: np.ndarray, fs: int) -> list[float]:
    """composite.m's llr(): the per-frame log(numerator / denominator), with no cap."""
    P = 10 if fs < 10000 else 16
    distortion = []
    with np.errstate(divide="ignore", invalid="ignore"):
        for clean_frame, processed_frame in zip(loop_frames(clean, fs), loop_frames(processed, fs)):
            R_clean, A_clean = composite_m_lpcoeff(clean_frame, P)
            _, A_processed = composite_m_lpcoeff(processed_frame, P)
            numerator = A_processed @ scipy.linalg.toeplitz(R_clean) @ A_processed
            denominator = A_clean @ scipy.linalg.toeplitz(R_clean) @ A_clean
            distortion.append(float(np.log(numerator / denominator)))
    return distortion


def speech_with_digital_silence() -> tuple[np.ndarray, np.ndarray]:
    """Speech-like bursts with two 0.1 s stretches of exact zeros; the estimate adds faint
    white noise everywhere. Against eps-only reference frames that noise gives LLRs near 25."""
    reference = speech_like(2.0, seed=0)
    t = np.arange(len(reference)) / FS
    reference[((t >= 0.3) & (t < 0.4)) | ((t >= 1.3) & (t < 1.4))] = 0.0
    estimate = reference + 0.003 * np.random.default_rng(3).standard_normal(len(reference))
    return reference, estimate


# --------------------------------------------------------------------------- segmental SNR

@pytest.mark.parametrize("error_gain, expected_db", [
    (0.1, 20.0), (0.3, -20 * math.log10(0.3)), (3.0, -20 * math.log10(3.0)),
    (0.01, 35.0),    # 40 dB, clamped to 35
    (10.0, -10.0),   # -20 dB, clamped to -10
])
def test_segmental_snr_of_a_scaled_error_is_known_in_every_frame(clean, error_gain, expected_db):
    # estimate = s + g s, so every frame's error is g times its signal: SNR = -20 log10 g exactly
    assert composite.segmental_snr(clean, clean * (1 + error_gain), FS) == pytest.approx(expected_db, abs=1e-9)


def test_segmental_snr_of_identical_signals_is_the_35_db_ceiling(clean):
    assert composite.segmental_snr(clean, clean, FS) == 35.0


def test_segmental_snr_scores_digital_silence_at_the_floor_as_composite_m_does(clean):
    # composite.m adds eps to both signals, so a silent reference frame has ~1e-30 energy
    # against an error of 0 + eps: -10 dB, even when the estimate is identical
    silent_half = np.r_[clean[:8000], np.zeros(8000)]
    per_frame = composite.segmental_snr_per_frame(*(composite.composite_frames(silent_half + 2.2e-16, FS),) * 2)
    silent_frames = np.arange(len(per_frame)) * 120 >= 8000
    assert np.all(per_frame[silent_frames] == -10.0) and np.all(per_frame[~silent_frames] == 35.0)


def test_segmental_snr_matches_a_frame_by_frame_loop(clean, noisy):
    estimate = noisy.copy()
    estimate[len(estimate) // 2:] *= 20   # drives late frames to the -10 dB floor
    per_frame = []
    for ref, est in zip(loop_frames(clean, FS), loop_frames(estimate, FS)):
        snr = 10 * math.log10(np.sum(ref ** 2) / (np.sum((ref - est) ** 2) + 2.2e-16) + 2.2e-16)
        per_frame.append(min(max(snr, -10), 35))
    assert len(per_frame) == len(clean) // 120 - 4
    assert composite.segmental_snr(clean, estimate, FS) == pytest.approx(np.mean(per_frame), rel=1e-9)


# --------------------------------------------------------------------------- LLR

def test_lpc_order_follows_composite_m():
    assert composite.lpc_order(8000) == 10
    assert composite.lpc_order(16000) == 16


def test_lpc_from_levinson_durbin_solves_the_normal_equations():
    frames = composite.composite_frames(ar_signal([-1.3, 0.6], 4000, seed=2), FS)
    r, polynomial = composite.lpc_autocorrelation(frames, 16)
    for lags, a in zip(r, polynomial):
        predictor = scipy.linalg.solve_toeplitz(lags[:16], lags[1:17])
        np.testing.assert_allclose(a, np.r_[1.0, -predictor], rtol=1e-6, atol=1e-8)


def test_llr_of_identical_or_scaled_signals_is_zero(clean):
    assert composite.llr(clean, clean, FS) == 0.0
    assert composite.llr(clean, 0.25 * clean, FS) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("fs", [8000, 16000])
def test_llr_matches_toeplitz_solve_and_itakura_formula(fs):
    reference = ar_signal([-1.3, 0.6], fs, seed=3)     # one resonance
    estimate = reference + 0.4 * ar_signal([0.9], fs, seed=4) + 0.2 * ar_signal([-0.9], fs, seed=5)
    order = 10 if fs < 10000 else 16
    per_frame = []
    for ref, est in zip(loop_frames(reference, fs), loop_frames(estimate, fs)):
        def autocorrelation(frame):
            return np.array([np.dot(frame[: len(frame) - k], frame[k:]) for k in range(order + 1)])
        def lpc_polynomial(lags):
            return np.r_[1.0, -scipy.linalg.solve_toeplitz(lags[:order], lags[1:])]
        r_ref = autocorrelation(ref)
        a_ref, a_est = lpc_polynomial(r_ref), lpc_polynomial(autocorrelation(est))
        matrix = scipy.linalg.toeplitz(r_ref)
        per_frame.append(math.log((a_est @ matrix @ a_est) / (a_ref @ matrix @ a_ref)))
    assert 0 < np.mean(per_frame)
    assert composite.llr(reference, estimate, fs) == pytest.approx(mean_of_best_95(per_frame), rel=1e-6)


def test_llr_is_composite_m_uncapped_on_speech_with_digital_silence():
    reference, estimate = speech_with_digital_silence()
    per_frame = composite_m_llr(reference, estimate, FS)
    expected = mean_of_best_95(per_frame)
    # the frames that tell composite.m's LLR from comp_llr.m's capped one
    assert sum(value > 2 for value in per_frame) >= 10 and max(per_frame) > 20
    capped = mean_of_best_95([min(max(value, 0.0), 2.0) for value in per_frame])
    assert abs(capped - expected) > 0.1
    assert composite.llr(reference, estimate, FS) == pytest.approx(expected, abs=0.01)
    # the eps-only frames are ill-conditioned (their LPC whitens a smooth Hann bump), so the
    # summation order in Levinson-Durbin shows in the third decimal of a value near 25
    np.testing.assert_allclose(
        composite.llr_per_frame(*composite._composite_input(reference, estimate, FS), 16), per_frame, atol=0.01)


def test_csig_and_covl_follow_composite_m_on_speech_with_digital_silence():
    reference, estimate = speech_with_digital_silence()
    pesq = pesq_package.pesq(FS, reference, estimate, "wb")
    wss = loop_wss(reference, estimate, FS)
    llr_values = composite_m_llr(reference, estimate, FS)

    def csig_covl(llr_mean):
        return (min(5, max(1, 3.093 - 1.029 * llr_mean + 0.603 * pesq - 0.009 * wss)),
                min(5, max(1, 1.594 + 0.805 * pesq - 0.512 * llr_mean - 0.007 * wss)))

    csig, covl = csig_covl(mean_of_best_95(llr_values))
    capped_csig, capped_covl = csig_covl(mean_of_best_95([min(max(v, 0.0), 2.0) for v in llr_values]))
    assert 1 < csig < 5 and 1 < covl < 5          # inside the clip, so the comparison means something
    assert abs(capped_csig - csig) > 0.1 and abs(capped_covl - covl) > 0.1

    scores = metrics.composite(reference, estimate, FS)
    assert scores["csig"] == pytest.approx(csig, abs=0.01)
    assert scores["covl"] == pytest.approx(covl, abs=0.01)
    assert scores["llr"] == pytest.approx(mean_of_best_95(llr_values), abs=0.01)


def test_llr_frames_without_a_value_fall_out_with_the_worst_5_percent_as_in_matlab():
    # a reference of exactly -eps becomes 0 after composite.m's + eps: R = 0, the LPC is 0/0
    # and the frame's LLR NaN; MATLAB's sort puts those last, among the 5% it drops
    reference, estimate = speech_with_digital_silence()
    eps = np.finfo(float).eps
    few, many = reference.copy(), reference.copy()
    few[15960:16920] = -eps           # frames 133..137: 5 of 262 (13 are dropped)
    many[15960:19920] = -eps          # frames 133..162: 30
    for signal, undefined_frames in ((few, 5), (many, 30)):
        per_frame = composite_m_llr(signal, estimate, FS)
        assert sum(math.isnan(v) for v in per_frame) == undefined_frames
        assert np.isnan(composite.llr_per_frame(*composite._composite_input(signal, estimate, FS), 16)).sum() \
            == undefined_frames
    assert composite.llr(few, estimate, FS) == pytest.approx(mean_of_best_95(composite_m_llr(few, estimate, FS)),
                                                          abs=0.01)
    assert math.isnan(mean_of_best_95(composite_m_llr(many, estimate, FS)))
    assert math.isnan(composite.llr(many, estimate, FS))
    # MATLAB's max(1, NaN) would report Csig = Covl = 1; we report them undefined
    scores = metrics.composite(many, estimate, FS)
    assert math.isnan(scores["csig"]) and math.isnan(scores["covl"])
    assert 1 <= scores["cbak"] <= 5


# --------------------------------------------------------------------------- WSS

def loop_wss(reference: np.ndarray, estimate: np.ndarray, fs: int) -> float:
    """Klatt's WSS following composite.m's steps one frame and one band at a time."""
    winlength = int(round(0.03 * fs))
    n_fft = 1 << (2 * winlength - 1).bit_length()
    half = n_fft // 2
    centres, widths = composite.CRITICAL_BAND_CENTRES_HZ, composite.CRITICAL_BAND_WIDTHS_HZ
    filters = []
    for centre, width in zip(centres, widths):
        f0 = math.floor(centre / (fs / 2) * half)
        bw = width / (fs / 2) * half
        gains = [math.exp(-11 * ((j - f0) / bw) ** 2 + math.log(widths[0] / width)) for j in range(half)]
        filters.append([g if g > math.exp(-30 / (2 * 2.303)) else 0.0 for g in gains])
    filters = np.array(filters)

    def band_db(frame):
        power = np.abs(np.fft.fft(frame, n_fft)[:half]) ** 2
        return np.array([10 * math.log10(max(np.sum(power * f), 1e-10)) for f in filters])

    def weights(energy):
        slope = np.diff(energy)
        result = []
        for i in range(24):
            n = i
            if slope[i] > 0:
                while n < 24 and slope[n] > 0:
                    n += 1
                peak = energy[n - 1]
            else:
                while n >= 0 and slope[n] <= 0:
                    n -= 1
                peak = energy[n + 1]
            result.append(20 / (20 + energy.max() - energy[i]) * 1 / (1 + peak - energy[i]))
        return np.array(result)

    distances = []
    for ref, est in zip(loop_frames(reference, fs), loop_frames(estimate, fs)):
        ref_db, est_db = band_db(ref), band_db(est)
        w = (weights(ref_db) + weights(est_db)) / 2
        distances.append(np.sum(w * (np.diff(ref_db) - np.diff(est_db)) ** 2) / np.sum(w))
    return mean_of_best_95(distances)


def test_wss_of_identical_or_scaled_signals_is_zero(clean):
    assert composite.wss(clean, clean, FS) == 0.0
    # a gain shifts every band by the same dB, leaving the slopes alone
    assert composite.wss(clean, 0.5 * clean, FS) == pytest.approx(0.0, abs=1e-9)


def test_wss_is_positive_and_grows_with_noise(clean):
    rng = np.random.default_rng(7)
    noise = rng.standard_normal(len(clean))
    light, heavy = (composite.wss(clean, clean + level * noise, FS) for level in (0.003, 0.1))
    assert 0 < light < heavy


@pytest.mark.parametrize("fs", [8000, 16000])
def test_wss_matches_a_band_by_band_loop(fs):
    reference = speech_like(0.4, fs, seed=8)
    estimate = reference + 0.02 * np.random.default_rng(9).standard_normal(len(reference))
    assert composite.wss(reference, estimate, fs) == pytest.approx(loop_wss(reference, estimate, fs), rel=1e-9)


def test_critical_band_filters_have_equal_area_shape_and_a_30_db_floor():
    filters, n_fft = composite.critical_band_filters(FS, 480)
    assert n_fft == 1024 and filters.shape == (25, 512)
    first_bin = math.floor(50 / 8000 * 512)
    assert filters[0, first_bin] == pytest.approx(1.0)
    assert filters[24].max() == pytest.approx(70 / 346.136)
    assert filters[filters > 0].min() > math.exp(-30 / (2 * 2.303))


# --------------------------------------------------------------------------- composite

def test_composite_of_identical_signals_sits_at_the_ceiling(clean):
    scores = metrics.composite(clean, clean, FS)
    assert scores["ssnr"] == 35.0 and scores["llr"] == 0.0 and scores["wss"] == 0.0
    assert scores["pesq"] == pytest.approx(4.644, abs=0.01)
    assert (scores["csig"], scores["cbak"], scores["covl"]) == (5.0, 5.0, 5.0)


def test_composite_applies_hu_loizou_formulas_to_its_measured_parts(clean, noisy):
    scores = metrics.composite(clean, noisy, FS)
    p, s, l, w = scores["pesq"], scores["ssnr"], scores["llr"], scores["wss"]
    assert scores["csig"] == pytest.approx(min(5, max(1, 3.093 - 1.029 * l + 0.603 * p - 0.009 * w)))
    assert scores["cbak"] == pytest.approx(min(5, max(1, 1.634 + 0.478 * p - 0.007 * w + 0.063 * s)))
    assert scores["covl"] == pytest.approx(min(5, max(1, 1.594 + 0.805 * p - 0.512 * l - 0.007 * w)))
    assert s == pytest.approx(composite.segmental_snr(clean, noisy, FS))
    assert 1 < scores["cbak"] < 5


def test_composite_from_measures_by_hand():
    scores = composite.composite_from_measures(pesq=2.5, ssnr=5.0, llr=0.5, wss=30.0)
    assert scores["csig"] == pytest.approx(3.093 - 0.5145 + 1.5075 - 0.27)
    assert scores["cbak"] == pytest.approx(1.634 + 1.195 - 0.21 + 0.315)
    assert scores["covl"] == pytest.approx(1.594 + 2.0125 - 0.256 - 0.21)
    worst = composite.composite_from_measures(pesq=1.0, ssnr=-10.0, llr=2.0, wss=200.0)
    assert worst == {"csig": 1.0, "cbak": 1.0, "covl": 1.0}


def test_frame_measures_are_nan_for_a_signal_shorter_than_one_frame():
    short = np.ones(500)
    assert math.isnan(composite.segmental_snr(short, short, FS))
    assert math.isnan(composite.llr(short, short, FS))
    assert math.isnan(composite.wss(short, short, FS))
