"""PESQ, STOI, SI-SDR, all the metrics together, and choosing by them: values on hand-computed cases
and against the packages they wrap."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pesq as pesq_package
import pystoi
import pytest

from tests.speech_signals import FS, clean, noisy, speech_like  # noqa: F401 (clean, noisy: fixtures)
from wavegen.audio import composite, metric_base, metrics, selection
from wavegen.audio.io import resample
from wavegen.errors import WavegenError


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
    assert scores["llr"] == pytest.approx(composite.llr(clean, noisy, FS))
    assert scores["wss"] == pytest.approx(composite.wss(clean, noisy, FS))
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
    assert metric_base._REASONS.get() is None                      # nothing collects outside the call


def test_bad_input_raises_a_clear_error(clean):
    with pytest.raises(WavegenError, match="differ in length"):
        metrics.evaluate_pair(clean, clean[:-1], FS)
    with pytest.raises(WavegenError, match="1-D"):
        composite.segmental_snr(np.stack([clean, clean]), np.stack([clean, clean]), FS)
    with pytest.raises(WavegenError, match="NaN"):
        metrics.si_sdr(clean, np.full_like(clean, np.nan))


def test_min_gain_is_the_worst_measure_over_its_span():
    noisy = {"pesq": 1.5, "stoi": 0.90, "estoi": 0.80, "csig": 2.8, "cbak": 2.2, "covl": 2.1, "ssnr": 3.0,
             "si_sdr": 10.0}
    better = {"pesq": 1.85, "stoi": 0.93, "estoi": 0.82, "csig": 3.0, "cbak": 2.6, "covl": 2.3, "ssnr": 7.5,
              "si_sdr": 0.0}                    # SI-SDR is not one of the seven: it does not count
    # Gains over spans: PESQ 0.35/3.5 = 0.1, STOI 0.03, ESTOI 0.02, CSIG 0.05, CBAK 0.1, COVL 0.05, SSNR 0.1.
    assert selection.min_gain(better, noisy) == pytest.approx(0.02)
    worse_csig = {**better, "csig": 2.6}
    assert selection.min_gain(worse_csig, noisy) == pytest.approx(-0.05)
    assert math.isnan(selection.min_gain({**better, "stoi": math.nan}, noisy))
