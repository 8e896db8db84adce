"""Folder evaluation on small wav/flac folders written in tmp directories."""

from __future__ import annotations

import csv
import math
import os

import numpy as np
import pytest
import scipy.signal
import soundfile as sf

from wavegen.audio import metrics
from wavegen.audio.evaluate import evaluate_folders, format_table
from wavegen.audio.io import read_audio, resample
from wavegen.errors import WavegenError

FS = 16000


def voiced(seconds: float = 1.0, seed: int = 0) -> np.ndarray:
    """Pulse train through two resonators with a syllable envelope: enough speech for PESQ."""
    t = np.arange(int(seconds * FS)) / FS
    pulses = (np.diff(np.floor(np.cumsum((110 + 20 * seed + 10 * np.sin(3 * t)) / FS)), prepend=0) > 0) * 1.0
    x = pulses
    for centre, bandwidth in [(700, 90), (1800, 150)]:
        r = np.exp(-np.pi * bandwidth / FS)
        x = scipy.signal.lfilter([1 - r], [1, -2 * r * np.cos(2 * np.pi * centre / FS), r * r], x)
    x = x * np.sqrt(np.clip(np.sin(2 * np.pi * 2.5 * t), 0, None))
    return 0.5 * x / np.max(np.abs(x))


def noisy_version(x: np.ndarray, seed: int, level: float = 0.02) -> np.ndarray:
    return x + level * np.random.default_rng(seed).standard_normal(x.shape)


def write(path, audio, rate=FS):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.asarray(audio, dtype=np.float32).T, rate, subtype="FLOAT" if path.suffix == ".wav" else None)


@pytest.fixture
def folders(tmp_path):
    clean, enhanced = tmp_path / "clean", tmp_path / "enhanced"
    a, b = voiced(seed=0), voiced(seed=1)
    write(clean / "a.wav", a)
    write(clean / "sub" / "b.wav", b)
    write(clean / "only_reference.wav", a)
    write(enhanced / "a.wav", noisy_version(a, 1))
    write(enhanced / "sub" / "b.flac", noisy_version(b, 2))
    write(enhanced / "only_estimate.wav", a)
    return clean, enhanced


def expected_scores(reference_path, estimate_path):
    reference, _ = read_audio(reference_path)
    estimate, _ = read_audio(estimate_path)
    return metrics.evaluate_pair(reference[0].astype(np.float64), estimate[0].astype(np.float64), FS)


def test_files_pair_by_relative_path_and_scores_go_to_csv(folders, tmp_path):
    clean, enhanced = folders
    csv_path = tmp_path / "out" / "scores.csv"
    result = evaluate_folders(clean, enhanced, csv_path=csv_path)

    assert list(result.scores) == ["a.wav", "sub/b.wav"]
    expected = expected_scores(clean / "a.wav", enhanced / "a.wav")
    for metric, value in expected.items():
        assert result.scores["a.wav"][metric] == pytest.approx(value, rel=1e-9)
    for metric in metrics.METRIC_NAMES:
        assert result.means[metric] == pytest.approx(np.mean([row[metric] for row in result.scores.values()]))

    with open(csv_path, newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["file", *metrics.METRIC_NAMES]
    assert [row[0] for row in rows[1:]] == ["a.wav", "sub/b.wav"]
    assert float(rows[1][1]) == pytest.approx(expected["pesq"], abs=1e-6)
    assert float(rows[1][-1]) == pytest.approx(expected["si_sdr"], abs=1e-6)
    assert sorted(p.name for p in csv_path.parent.iterdir()) == ["scores.csv"]   # no temp file left


def test_files_on_one_side_only_are_reported_not_fatal(folders):
    result = evaluate_folders(*folders)
    assert any("only_reference.wav" in p and "no estimate" in p for p in result.problems)
    assert any("only_estimate.wav" in p and "no reference" in p for p in result.problems)
    assert "only_reference.wav" not in result.scores
    assert result.num_files == 2


def test_no_common_files_names_both_folders(tmp_path):
    write(tmp_path / "ref" / "x.wav", voiced())
    write(tmp_path / "est" / "y.wav", voiced())
    with pytest.raises(WavegenError) as caught:
        evaluate_folders(tmp_path / "ref", tmp_path / "est")
    assert str(tmp_path / "ref") in str(caught.value) and str(tmp_path / "est") in str(caught.value)
    with pytest.raises(WavegenError, match="no such folder"):
        evaluate_folders(tmp_path / "ref", tmp_path / "missing")


def test_an_estimate_at_another_rate_is_resampled_and_noted(tmp_path):
    clean = voiced()
    write(tmp_path / "ref" / "a.wav", clean)
    write(tmp_path / "est" / "a.wav", resample(clean, FS, 48000).numpy(), rate=48000)
    result = evaluate_folders(tmp_path / "ref", tmp_path / "est")
    assert result.problems == ["a.wav: estimate resampled from 48000 Hz to 16000 Hz"]
    assert result.scores["a.wav"]["pesq"] > 4.0
    assert result.scores["a.wav"]["si_sdr"] > 20.0


def test_small_length_mismatch_is_trimmed_and_large_one_skipped(tmp_path):
    a, b = voiced(seed=0), voiced(seed=1)
    write(tmp_path / "ref" / "a.wav", a)
    write(tmp_path / "ref" / "b.wav", b)
    write(tmp_path / "est" / "a.wav", noisy_version(a, 3)[:-80])      # 5 ms short: trimmed
    write(tmp_path / "est" / "b.wav", noisy_version(b, 4)[:-4000])    # 250 ms short: skipped
    result = evaluate_folders(tmp_path / "ref", tmp_path / "est")

    assert list(result.scores) == ["a.wav"]
    trimmed = [p for p in result.problems if p.startswith("a.wav")]
    skipped = [p for p in result.problems if p.startswith("b.wav")]
    assert len(trimmed) == 1 and "80 samples" in trimmed[0] and "trimmed" in trimmed[0]
    assert len(skipped) == 1 and "4000 samples" in skipped[0] and "skipped" in skipped[0]
    expected = metrics.evaluate_pair(a[:-80].astype(np.float32).astype(np.float64),
                                     noisy_version(a, 3)[:-80].astype(np.float32).astype(np.float64), FS)
    assert result.scores["a.wav"]["ssnr"] == pytest.approx(expected["ssnr"], rel=1e-9)


def test_stereo_is_mixed_to_mono_and_bad_files_are_skipped(tmp_path):
    a = voiced()
    write(tmp_path / "ref" / "a.wav", a)
    write(tmp_path / "est" / "a.wav", np.stack([a, a]))
    write(tmp_path / "ref" / "broken.wav", a)
    (tmp_path / "est" / "broken.wav").write_bytes(b"")
    progressed = []

    def progress(items):
        for item in items:
            progressed.append(item)
            yield item

    result = evaluate_folders(tmp_path / "ref", tmp_path / "est", progress=progress)
    assert len(progressed) == 2
    assert list(result.scores) == ["a.wav"]
    mono = a.astype(np.float32).astype(np.float64)
    assert result.scores["a.wav"] == pytest.approx(metrics.evaluate_pair(mono, mono, FS))
    assert "a.wav: estimate has 2 channels; mixed to mono" in result.problems
    assert any(p.startswith("broken.wav") and "empty" in p and "skipped" in p for p in result.problems)


def test_undefined_metrics_are_reported_and_left_out_of_means(tmp_path):
    a, b = voiced(seed=0), voiced(seed=1)
    write(tmp_path / "ref" / "a.wav", a)
    write(tmp_path / "ref" / "b.wav", b)
    write(tmp_path / "est" / "a.wav", noisy_version(a, 5))
    write(tmp_path / "est" / "b.wav", np.zeros_like(b))          # silent output: PESQ undefined
    result = evaluate_folders(tmp_path / "ref", tmp_path / "est")
    assert math.isnan(result.scores["b.wav"]["pesq"])
    assert result.means["pesq"] == pytest.approx(result.scores["a.wav"]["pesq"])
    assert any(p.startswith("b.wav") and "pesq" in p for p in result.problems)


def test_format_table_puts_conditions_side_by_side():
    table = format_table({"noisy": {"pesq": 1.97, "stoi": 0.921},
                          "enhanced": {"pesq": 2.5, "stoi": 0.93456, "extra": 1.0}})
    assert table.splitlines() == [
        "metric  noisy  enhanced",
        "pesq    1.970     2.500",
        "stoi    0.921     0.935",
        "extra       -     1.000",
    ]


# --------------------------------------------------------------------------- where the CSV may go

def no_progress_expected(items):
    raise AssertionError("scoring started before the CSV path was checked")


@pytest.mark.parametrize("target", ["clean/a.wav", "enhanced/a.wav", "enhanced/sub/b.flac"])
def test_csv_onto_an_input_file_is_refused_before_scoring_and_the_file_survives(folders, tmp_path, target):
    clean, enhanced = folders
    victim = tmp_path / target
    before = victim.read_bytes()
    with pytest.raises(WavegenError) as caught:
        evaluate_folders(clean, enhanced, csv_path=victim, progress=no_progress_expected)
    message = str(caught.value)
    assert str(victim) in message and "\n" not in message
    assert victim.read_bytes() == before


def test_csv_linked_to_an_input_file_is_refused(folders, tmp_path):
    clean, enhanced = folders
    (tmp_path / "out").mkdir()
    hard, soft = tmp_path / "out" / "hard.csv", tmp_path / "out" / "soft.csv"
    os.link(clean / "a.wav", hard)
    soft.symlink_to(enhanced / "a.wav")
    before = (clean / "a.wav").read_bytes(), (enhanced / "a.wav").read_bytes()
    for link in (hard, soft):
        with pytest.raises(WavegenError, match="same file as"):
            evaluate_folders(clean, enhanced, csv_path=link, progress=no_progress_expected)
    # the same file reached through a link to its folder
    (tmp_path / "clean_link").symlink_to(clean)
    with pytest.raises(WavegenError, match="same file as"):
        evaluate_folders(clean, enhanced, csv_path=tmp_path / "clean_link" / "a.wav", progress=no_progress_expected)
    assert ((clean / "a.wav").read_bytes(), (enhanced / "a.wav").read_bytes()) == before


def test_csv_path_that_is_a_folder_is_refused_before_scoring(folders, tmp_path):
    clean, enhanced = folders
    (tmp_path / "out").mkdir()
    for folder in (tmp_path / "out", clean):
        with pytest.raises(WavegenError, match="is a folder"):
            evaluate_folders(clean, enhanced, csv_path=folder, progress=no_progress_expected)


def test_csv_path_with_an_audio_suffix_is_refused(folders, tmp_path):
    clean, enhanced = folders
    for name in ("scores.wav", "scores.FLAC", "scores.ogg"):
        with pytest.raises(WavegenError, match="audio"):
            evaluate_folders(clean, enhanced, csv_path=tmp_path / "out" / name, progress=no_progress_expected)
        assert not (tmp_path / "out" / name).exists()


def test_csv_whose_folder_cannot_be_created_is_refused_before_scoring(folders, tmp_path):
    clean, enhanced = folders
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    with pytest.raises(WavegenError, match="notes.txt"):
        evaluate_folders(clean, enhanced, csv_path=tmp_path / "notes.txt" / "deeper" / "scores.csv",
                         progress=no_progress_expected)
    assert (tmp_path / "notes.txt").read_text() == "a file, not a folder"


def test_csv_inside_the_estimate_folder_is_fine_and_is_not_read_as_audio(folders):
    clean, enhanced = folders
    first = evaluate_folders(clean, enhanced, csv_path=enhanced / "scores.csv")
    second = evaluate_folders(clean, enhanced, csv_path=enhanced / "scores.csv", overwrite=True)
    assert list(first.scores) == list(second.scores) == ["a.wav", "sub/b.wav"]
    assert first.problems == second.problems
    assert (enhanced / "scores.csv").read_text().startswith("file,pesq,")


def test_an_existing_csv_is_replaced_only_with_overwrite_checked_before_scoring(folders, tmp_path):
    """`wavegen evaluate --csv scores.csv` replaced an existing CSV without asking."""
    clean, enhanced = folders
    kept = tmp_path / "scores.csv"
    kept.write_text("my earlier scores\n")
    with pytest.raises(WavegenError) as caught:
        evaluate_folders(clean, enhanced, csv_path=kept, progress=no_progress_expected)
    assert str(caught.value) == f"{kept} already exists; use --overwrite to replace it, or another --csv file"
    assert kept.read_text() == "my earlier scores\n"
    result = evaluate_folders(clean, enhanced, csv_path=kept, overwrite=True)
    assert result.csv_path == kept and kept.read_text().startswith("file,pesq,")
    with pytest.raises(WavegenError, match="is an input file"):           # never an input, even with overwrite
        evaluate_folders(clean, enhanced, csv_path=clean / "a.wav", overwrite=True, progress=no_progress_expected)


def test_the_evaluate_command_asks_before_replacing_a_csv(folders, tmp_path):
    from tests.support import wavegen_cli
    clean, enhanced = folders
    kept = tmp_path / "scores.csv"
    kept.write_text("mine\n")
    command = ["evaluate", "--reference", str(clean), "--estimate", str(enhanced), "--csv", str(kept)]
    refused = wavegen_cli(*command, cwd=tmp_path)
    assert refused.returncode == 1 and kept.read_text() == "mine\n"
    assert refused.stderr.strip() == (f"error: {kept} already exists; use --overwrite to replace it, "
                                      "or another --csv file")
    replaced = wavegen_cli(*command, "--overwrite", cwd=tmp_path)
    assert replaced.returncode == 0, replaced.stderr
    assert kept.read_text().startswith("file,pesq,")


def test_counts_in_messages_are_singular_for_one():
    from wavegen.audio.evaluate import _partial_mean_notes
    assert _partial_mean_notes({"pesq": 0}, 1) == ["pesq: no mean (not finite for the one file)"]
    assert _partial_mean_notes({"pesq": 0}, 2) == ["pesq: no mean (not finite for any of the 2 files)"]


# --------------------------------------------------------------------------- honest means

def read_csv_rows(path):
    with open(path, newline="") as handle:
        return {row["file"]: row for row in csv.DictReader(handle)}


def test_too_short_file_leaves_stoi_out_of_the_means_and_says_so(tmp_path):
    a, short = voiced(seed=0), voiced(0.3, seed=1)
    write(tmp_path / "ref" / "a.wav", a)
    write(tmp_path / "ref" / "short.wav", short)
    write(tmp_path / "est" / "a.wav", noisy_version(a, 1))
    write(tmp_path / "est" / "short.wav", noisy_version(short, 2))
    result = evaluate_folders(tmp_path / "ref", tmp_path / "est", csv_path=tmp_path / "scores.csv")

    assert math.isnan(result.scores["short.wav"]["stoi"]) and math.isnan(result.scores["short.wav"]["estoi"])
    assert result.means["stoi"] == result.scores["a.wav"]["stoi"]            # not halved by a 1e-5
    assert result.means["estoi"] == result.scores["a.wav"]["estoi"]
    assert result.counts["stoi"] == result.counts["estoi"] == 1 and result.counts["ssnr"] == 2
    assert ("short.wav: stoi, estoi undefined (shorter than 0.41 s, the 30 frames STOI needs); "
            "left out of those means") in result.problems
    assert any("stoi, estoi" in p and "1 of 2 files" in p for p in result.problems)
    rows = read_csv_rows(tmp_path / "scores.csv")
    assert rows["short.wav"]["stoi"] == "nan" and float(rows["a.wav"]["stoi"]) > 0.5


def test_silent_pair_and_silent_estimate_are_left_out_of_every_mean_they_would_skew(tmp_path):
    a, b, c = voiced(seed=0), voiced(seed=1), voiced(seed=2)
    write(tmp_path / "ref" / "a.wav", a)
    write(tmp_path / "ref" / "b.wav", np.zeros_like(b))
    write(tmp_path / "ref" / "c.wav", c)
    write(tmp_path / "est" / "a.wav", noisy_version(a, 1))
    write(tmp_path / "est" / "b.wav", np.zeros_like(b))        # silent pair
    write(tmp_path / "est" / "c.wav", np.zeros_like(c))        # silent output
    result = evaluate_folders(tmp_path / "ref", tmp_path / "est")

    for metric in ("pesq", "stoi", "estoi", "si_sdr", "csig", "cbak", "covl"):
        assert result.means[metric] == result.scores["a.wav"][metric], metric
        assert result.counts[metric] == 1
    assert ("b.wav: pesq, stoi, estoi, si_sdr undefined (the reference is all zeros); "
            "left out of those means") in result.problems
    assert ("c.wav: pesq, stoi, estoi, si_sdr undefined (the estimate is all zeros); "
            "left out of those means") in result.problems
    assert "c.wav: csig, cbak, covl undefined (pesq undefined); left out of those means" in result.problems


def test_identical_files_give_inf_si_sdr_named_and_left_out_of_the_mean(tmp_path):
    a, b = voiced(seed=0), voiced(seed=1)
    write(tmp_path / "ref" / "a.wav", a)
    write(tmp_path / "ref" / "b.wav", b)
    write(tmp_path / "est" / "a.wav", noisy_version(a, 1))
    write(tmp_path / "est" / "b.wav", b)                        # the reference itself
    result = evaluate_folders(tmp_path / "ref", tmp_path / "est", csv_path=tmp_path / "scores.csv")

    assert result.scores["b.wav"]["si_sdr"] == math.inf
    assert result.means["si_sdr"] == result.scores["a.wav"]["si_sdr"]
    assert result.counts["si_sdr"] == 1 and result.counts["pesq"] == 2
    assert ("b.wav: si_sdr is +inf (estimate identical to reference); "
            "left out of the si_sdr mean") in result.problems
    assert any(p.startswith("si_sdr") and "1 of 2 files" in p for p in result.problems)
    assert read_csv_rows(tmp_path / "scores.csv")["b.wav"]["si_sdr"] == "inf"


def test_means_over_every_file_add_no_count_note(folders):
    result = evaluate_folders(*folders)
    assert set(result.counts.values()) == {2}
    assert not any("files" in p and "mean" in p for p in result.problems)
