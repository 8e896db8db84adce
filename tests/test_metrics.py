"""Metric values on hand-computed cases and against independent, loop-by-loop implementations."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pesq as pesq_package
import pystoi
import pytest
import scipy.linalg
import scipy.signal

from wavegen.audio import metrics
from wavegen.audio.io import resample
from wavegen.errors import WavegenError

FS = 16000


def speech_like(seconds: float = 2.0, fs: int = FS, seed: int = 0) -> np.ndarray:
    """A voiced, speech-like signal: a gliding glottal pulse train through three formant
    resonators, gated by a syllable-rate envelope, over a faint noise floor."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * fs)) / fs
    f0 = 120 + 15 * np.sin(2 * np.pi * 0.7 * t)
    pulses = (np.diff(np.floor(np.cumsum(f0 / fs)), prepend=0) > 0).astype(float)
    x = pulses
    for centre, bandwidth in [(600, 80), (1400, 120), (2600, 200)]:
        radius = np.exp(-np.pi * bandwidth / fs)
        x = scipy.signal.lfilter([1 - radius], [1, -2 * radius * np.cos(2 * np.pi * centre / fs), radius ** 2], x)
    x = x * np.sqrt(np.clip(np.sin(2 * np.pi * 2.0 * t), 0, None))
    x = x + 1e-3 * np.max(np.abs(x)) * rng.standard_normal(len(t))
    return 0.5 * x / np.max(np.abs(x))


@pytest.fixture(scope="module")
def clean() -> np.ndarray:
    return speech_like()


@pytest.fixture(scope="module")
def noisy(clean) -> np.ndarray:
    return clean + 0.03 * np.random.default_rng(1).standard_normal(len(clean))


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
    assert metrics.segmental_snr(clean, clean * (1 + error_gain), FS) == pytest.approx(expected_db, abs=1e-9)


def test_segmental_snr_of_identical_signals_is_the_35_db_ceiling(clean):
    assert metrics.segmental_snr(clean, clean, FS) == 35.0


def test_segmental_snr_scores_digital_silence_at_the_floor_as_composite_m_does(clean):
    # composite.m adds eps to both signals, so a silent reference frame has ~1e-30 energy
    # against an error of 0 + eps: -10 dB, even when the estimate is identical
    silent_half = np.r_[clean[:8000], np.zeros(8000)]
    per_frame = metrics.segmental_snr_per_frame(*(metrics.composite_frames(silent_half + 2.2e-16, FS),) * 2)
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
    assert metrics.segmental_snr(clean, estimate, FS) == pytest.approx(np.mean(per_frame), rel=1e-9)


# --------------------------------------------------------------------------- LLR

def test_lpc_order_follows_composite_m():
    assert metrics.lpc_order(8000) == 10
    assert metrics.lpc_order(16000) == 16


def test_lpc_from_levinson_durbin_solves_the_normal_equations():
    frames = metrics.composite_frames(ar_signal([-1.3, 0.6], 4000, seed=2), FS)
    r, polynomial = metrics.lpc_autocorrelation(frames, 16)
    for lags, a in zip(r, polynomial):
        predictor = scipy.linalg.solve_toeplitz(lags[:16], lags[1:17])
        np.testing.assert_allclose(a, np.r_[1.0, -predictor], rtol=1e-6, atol=1e-8)


def test_llr_of_identical_or_scaled_signals_is_zero(clean):
    assert metrics.llr(clean, clean, FS) == 0.0
    assert metrics.llr(clean, 0.25 * clean, FS) == pytest.approx(0.0, abs=1e-9)


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
    assert metrics.llr(reference, estimate, fs) == pytest.approx(mean_of_best_95(per_frame), rel=1e-6)


def test_llr_is_composite_m_uncapped_on_speech_with_digital_silence():
    reference, estimate = speech_with_digital_silence()
    per_frame = composite_m_llr(reference, estimate, FS)
    expected = mean_of_best_95(per_frame)
    # the frames that tell composite.m's LLR from comp_llr.m's capped one
    assert sum(value > 2 for value in per_frame) >= 10 and max(per_frame) > 20
    capped = mean_of_best_95([min(max(value, 0.0), 2.0) for value in per_frame])
    assert abs(capped - expected) > 0.1
    assert metrics.llr(reference, estimate, FS) == pytest.approx(expected, abs=0.01)
    # the eps-only frames are ill-conditioned (their LPC whitens a smooth Hann bump), so the
    # summation order in Levinson-Durbin shows in the third decimal of a value near 25
    np.testing.assert_allclose(
        metrics.llr_per_frame(*metrics._composite_input(reference, estimate, FS), 16), per_frame, atol=0.01)


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
        assert np.isnan(metrics.llr_per_frame(*metrics._composite_input(signal, estimate, FS), 16)).sum() \
            == undefined_frames
    assert metrics.llr(few, estimate, FS) == pytest.approx(mean_of_best_95(composite_m_llr(few, estimate, FS)),
                                                          abs=0.01)
    assert math.isnan(mean_of_best_95(composite_m_llr(many, estimate, FS)))
    assert math.isnan(metrics.llr(many, estimate, FS))
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
    centres, widths = metrics.CRITICAL_BAND_CENTRES_HZ, metrics.CRITICAL_BAND_WIDTHS_HZ
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
    assert metrics.wss(clean, clean, FS) == 0.0
    # a gain shifts every band by the same dB, leaving the slopes alone
    assert metrics.wss(clean, 0.5 * clean, FS) == pytest.approx(0.0, abs=1e-9)


def test_wss_is_positive_and_grows_with_noise(clean):
    rng = np.random.default_rng(7)
    noise = rng.standard_normal(len(clean))
    light, heavy = (metrics.wss(clean, clean + level * noise, FS) for level in (0.003, 0.1))
    assert 0 < light < heavy


@pytest.mark.parametrize("fs", [8000, 16000])
def test_wss_matches_a_band_by_band_loop(fs):
    reference = speech_like(0.4, fs, seed=8)
    estimate = reference + 0.02 * np.random.default_rng(9).standard_normal(len(reference))
    assert metrics.wss(reference, estimate, fs) == pytest.approx(loop_wss(reference, estimate, fs), rel=1e-9)


def test_critical_band_filters_have_equal_area_shape_and_a_30_db_floor():
    filters, n_fft = metrics.critical_band_filters(FS, 480)
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
    assert s == pytest.approx(metrics.segmental_snr(clean, noisy, FS))
    assert 1 < scores["cbak"] < 5


def test_composite_from_measures_by_hand():
    scores = metrics.composite_from_measures(pesq=2.5, ssnr=5.0, llr=0.5, wss=30.0)
    assert scores["csig"] == pytest.approx(3.093 - 0.5145 + 1.5075 - 0.27)
    assert scores["cbak"] == pytest.approx(1.634 + 1.195 - 0.21 + 0.315)
    assert scores["covl"] == pytest.approx(1.594 + 2.0125 - 0.256 - 0.21)
    worst = metrics.composite_from_measures(pesq=1.0, ssnr=-10.0, llr=2.0, wss=200.0)
    assert worst == {"csig": 1.0, "cbak": 1.0, "covl": 1.0}


# --------------------------------------------------------------------------- SI-SDR

def test_si_sdr_with_orthogonal_noise_is_the_energy_ratio(clean):
    noise = np.random.default_rng(10).standard_normal(len(clean))
    noise -= np.dot(noise, clean) / np.dot(clean, clean) * clean   # exactly orthogonal to the reference
    a = 0.05
    expected = 10 * math.log10(np.dot(clean, clean) / (a ** 2 * np.dot(noise, noise)))
    assert metrics.si_sdr(clean, clean + a * noise) == pytest.approx(expected, rel=1e-9)


def test_si_sdr_ignores_the_scale_of_the_estimate(clean, noisy):
    value = metrics.si_sdr(clean, noisy)
    assert metrics.si_sdr(clean, 7.0 * noisy) == pytest.approx(value, rel=1e-9)
    assert metrics.si_sdr(clean, -0.1 * noisy) == pytest.approx(value, rel=1e-9)
    assert metrics.si_sdr(clean + 0.3, noisy + 0.3, zero_mean=True) == pytest.approx(
        metrics.si_sdr(clean - clean.mean(), noisy - noisy.mean()), rel=1e-9)


def test_si_sdr_edge_cases(clean):
    assert metrics.si_sdr(clean, clean) == math.inf
    assert math.isnan(metrics.si_sdr(np.zeros(100), np.ones(100)))
    assert math.isnan(metrics.si_sdr(np.ones(100), np.zeros(100)))


# --------------------------------------------------------------------------- PESQ, STOI

def test_pesq_wb_equals_the_pesq_package(clean, noisy):
    expected = pesq_package.pesq(FS, clean, noisy, "wb")
    assert metrics.pesq_wb(clean, noisy, FS) == pytest.approx(expected, abs=1e-6)
    assert 1.0 < expected < 4.5


def test_pesq_wb_resamples_other_rates_to_16_khz():
    reference = speech_like(1.5, 48000, seed=11)
    estimate = reference + 0.03 * np.random.default_rng(12).standard_normal(len(reference))
    expected = pesq_package.pesq(16000, resample(reference, 48000, 16000).double().numpy(),
                                 resample(estimate, 48000, 16000).double().numpy(), "wb")
    assert metrics.pesq_wb(reference, estimate, 48000) == pytest.approx(expected, abs=1e-6)


def test_pesq_wb_is_nan_when_undefined(clean):
    assert math.isnan(metrics.pesq_wb(clean, np.zeros_like(clean), FS))          # silent estimate
    assert math.isnan(metrics.pesq_wb(np.zeros_like(clean), clean, FS))          # silent reference
    assert math.isnan(metrics.pesq_wb(clean[:2000], clean[:2000], FS))           # 0.125 s: too short


@pytest.mark.parametrize("extended", [False, True])
def test_stoi_equals_pystoi(clean, noisy, extended):
    expected = pystoi.stoi(clean, noisy, FS, extended=extended)
    assert metrics.stoi(clean, noisy, FS, extended=extended) == pytest.approx(expected, abs=1e-9)
    assert metrics.stoi(clean, clean, FS, extended=extended) == pytest.approx(1.0)


@pytest.mark.parametrize("extended", [False, True])
def test_stoi_is_nan_where_pystoi_returns_its_1e_5_placeholder(clean, extended, caplog):
    # 2 s, but speech only in 0.3 s of it: pystoi drops the silent frames, warns and returns 1e-5
    burst = np.zeros_like(clean)
    burst[8000:12800] = clean[8000:12800]
    with pytest.warns(RuntimeWarning, match="Not enough STFT frames"):
        assert pystoi.stoi(burst, burst, FS, extended=extended) == 1e-5
    with caplog.at_level("WARNING", logger="wavegen.audio.metrics"):
        assert math.isnan(metrics.stoi(burst, burst, FS, extended=extended))
    assert "fewer than 30 frames with speech" in caplog.text
    assert math.isnan(metrics.stoi(clean[:4800], clean[:4800], FS, extended=extended))   # 0.3 s in all
    assert math.isnan(metrics.stoi(clean[:300], clean[:300], FS, extended=extended))     # pystoi crashes here


@pytest.mark.parametrize("fs", [8000, 16000, 22050])
def test_stoi_length_check_agrees_with_pystoi_at_the_30_frame_boundary(fs):
    # the shortest signal pystoi scores: ceil(n * 10000 / fs) > 4096 samples at 10 kHz
    shortest = next(n for n in range(int(0.40 * fs), int(0.42 * fs)) if -(-n * 10000 // fs) > 4096)
    rng = np.random.default_rng(13)
    for n, defined in ((shortest - 1, False), (shortest, True)):
        x = rng.standard_normal(n)
        y = x + 0.3 * rng.standard_normal(n)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            expected = pystoi.stoi(x, y, fs)
        assert bool(caught) is not defined
        ours = metrics.stoi(x, y, fs)
        assert ours == pytest.approx(expected, abs=1e-12) if defined else math.isnan(ours)


@pytest.mark.parametrize("extended", [False, True])
def test_stoi_of_a_silent_reference_or_estimate_is_nan_not_pystois_0(clean, extended):
    silence = np.zeros_like(clean)
    # What pystoi says: about 0 (0.001-0.011 across installs, from its eps terms), not NaN.
    assert abs(pystoi.stoi(clean, silence, FS, extended=extended)) < 0.05
    assert math.isnan(metrics.stoi(clean, silence, FS, extended=extended))
    assert math.isnan(metrics.stoi(silence, clean, FS, extended=extended))
    assert math.isnan(metrics.stoi(silence, silence, FS, extended=extended))


# --------------------------------------------------------------------------- everything

def test_evaluate_pair_reports_every_metric_consistently(clean, noisy):
    scores = metrics.evaluate_pair(clean, noisy, FS)
    assert tuple(scores) == metrics.METRIC_NAMES
    assert scores["pesq"] == pytest.approx(metrics.pesq_wb(clean, noisy, FS))
    assert scores["llr"] == pytest.approx(metrics.llr(clean, noisy, FS))
    assert scores["wss"] == pytest.approx(metrics.wss(clean, noisy, FS))
    assert scores["si_sdr"] == pytest.approx(metrics.si_sdr(clean, noisy))
    assert scores["estoi"] == pytest.approx(pystoi.stoi(clean, noisy, FS, extended=True))
    assert all(isinstance(value, float) for value in scores.values())


def test_evaluate_pair_with_reasons_says_why_each_value_is_not_finite(clean):
    scores, reasons = metrics.evaluate_pair_with_reasons(clean, np.zeros_like(clean), FS)
    assert scores == pytest.approx(metrics.evaluate_pair(clean, np.zeros_like(clean), FS), nan_ok=True)
    assert {m for m, v in scores.items() if not math.isfinite(v)} == set(reasons)
    assert reasons == {"pesq": "the estimate is all zeros", "stoi": "the estimate is all zeros",
                       "estoi": "the estimate is all zeros", "si_sdr": "the estimate is all zeros",
                       "csig": "pesq undefined", "cbak": "pesq undefined", "covl": "pesq undefined"}

    scores, reasons = metrics.evaluate_pair_with_reasons(clean, clean, FS)
    assert scores["si_sdr"] == math.inf and reasons == {"si_sdr": "estimate identical to reference"}
    _, reasons = metrics.evaluate_pair_with_reasons(clean, 0.5 * clean, FS)
    assert reasons == {"si_sdr": "estimate is the reference times a gain"}
    _, reasons = metrics.evaluate_pair_with_reasons(clean[:4800], clean[:4800][::-1].copy(), FS)
    assert reasons["stoi"] == reasons["estoi"] == "shorter than 0.41 s, the 30 frames STOI needs"
    assert metrics._REASONS.get() is None                      # nothing collects outside the call


def test_bad_input_raises_a_clear_error(clean):
    with pytest.raises(WavegenError, match="differ in length"):
        metrics.evaluate_pair(clean, clean[:-1], FS)
    with pytest.raises(WavegenError, match="1-D"):
        metrics.segmental_snr(np.stack([clean, clean]), np.stack([clean, clean]), FS)
    with pytest.raises(WavegenError, match="NaN"):
        metrics.si_sdr(clean, np.full_like(clean, np.nan))


def test_frame_measures_are_nan_for_a_signal_shorter_than_one_frame():
    short = np.ones(500)
    assert math.isnan(metrics.segmental_snr(short, short, FS))
    assert math.isnan(metrics.llr(short, short, FS))
    assert math.isnan(metrics.wss(short, short, FS))


def test_min_gain_is_the_worst_measure_over_its_span():
    noisy = {"pesq": 1.5, "stoi": 0.90, "estoi": 0.80, "csig": 2.8, "cbak": 2.2, "covl": 2.1, "ssnr": 3.0,
             "si_sdr": 10.0}
    better = {"pesq": 1.85, "stoi": 0.93, "estoi": 0.82, "csig": 3.0, "cbak": 2.6, "covl": 2.3, "ssnr": 7.5,
              "si_sdr": 0.0}                    # SI-SDR is not one of the seven: it does not count
    # Gains over spans: PESQ 0.35/3.5 = 0.1, STOI 0.03, ESTOI 0.02, CSIG 0.05, CBAK 0.1, COVL 0.05, SSNR 0.1.
    assert metrics.min_gain(better, noisy) == pytest.approx(0.02)
    worse_csig = {**better, "csig": 2.6}
    assert metrics.min_gain(worse_csig, noisy) == pytest.approx(-0.05)
    assert math.isnan(metrics.min_gain({**better, "stoi": math.nan}, noisy))
