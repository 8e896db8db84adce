"""wavegen listen's server: only the test's own files, validated answers, tokens, concurrency, crashes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

import soundfile as sf

from tests.listening import free_port, live_server, post, request, participant_session, wait_for
from wavegen import listen
from wavegen.listen.server import participant_token
from wavegen.listen.store import AnswerStore


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
        session = participant_session(port, "p1")
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
        session = participant_session(port)
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
        session = participant_session(port, "ana", token)
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
        session = participant_session(port)
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
        resumed = participant_session(port)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait()
    assert [t["trial"] for t in resumed["trials"]] == [t["trial"] for t in session["trials"]]
    assert resumed["trials"][0]["completed"] and not resumed["trials"][1]["completed"]
    assert resumed["trials"][1]["answers"] == {s["key"]: 20.0 for s in half}
    assert len(AnswerStore(tmp_path / "r" / "answers.sqlite").rows()) == len(first["stimuli"]) + 2
