"""wavegen listen's server: only the test's own files, validated answers, tokens, concurrency, crashes."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading

import pytest
import soundfile as sf

from tests.listening import free_port, live_server, post, request, participant_session, wait_for
from tests.support import wavegen_cli
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
        assert post(port, "/api/answer", {**answer, "token": token})[0] == 403     # in the URL, read first
        assert post(port, f"/api/answer?participant=ana&token={token}", answer)[0] == 200
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


# ---- every input bounded and validated (issue 23) ----

def _response(sock) -> tuple[int, bytes]:
    """(status, body) read from a raw socket until the server closes it or the body is complete."""
    sock.setblocking(True)
    sock.settimeout(60)
    data = b""
    while b"\r\n\r\n" not in data or len(data) < data.index(b"\r\n\r\n") + 4 + _length(data):
        piece = sock.recv(65536)
        if not piece:
            break
        data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def _length(data: bytes) -> int:
    head = data.split(b"\r\n\r\n")[0].lower()
    found = re.search(rb"content-length: *(\d+)", head)
    return int(found.group(1)) if found else 0


def _stream(port, path, head: str, total: int, piece: int = 65536) -> tuple[int, bytes, int]:
    """POST ``total`` bytes in chunks of ``piece``, sending only while the server has not answered.

    Returns (status, body, bytes of the body sent): a server that reads what it
    must not stops the client long before ``total``.
    """
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{head}"
                 f"\r\n".encode())
    chunk = f"{piece:x}\r\n".encode() + b" " * piece + b"\r\n"
    sock.setblocking(False)
    sent, pending = 0, b""
    with sock:
        while sent < total or pending:
            readable, writable, _ = select.select([sock], [sock], [], 60)
            if readable or not writable:
                break
            pending = pending or chunk
            try:
                done = sock.send(pending)
            except (BlockingIOError, InterruptedError):
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
            sent, pending = sent + done, pending[done:]
        if sent >= total:
            sock.setblocking(True)
            sock.sendall(b"0\r\n\r\n")   # all of it sent: end the body, hear what the server made of it
        status, body = _response(sock)
    return status, body, sent


def test_a_huge_chunked_answer_is_refused_with_413_after_at_most_the_limit(mushra):
    from wavegen.listen.server import MAX_BODY
    total = 60 * 2 ** 20
    with live_server(mushra) as port:
        status, body, sent = _stream(port, "/api/answer", "Transfer-Encoding: chunked\r\n", total)
        assert status == 413 and b"at most" in body
        assert sent < total // 4             # the server stopped reading: the client could not send it all
        assert post(port, "/api/answer", _ratings(mushra, 0)[0])[0] == 200      # and it still serves
    assert MAX_BODY == 4096


def test_the_body_reader_takes_at_most_one_piece_past_the_limit():
    import asyncio

    from starlette.requests import Request

    from wavegen.listen.server import MAX_BODY, BadRequest, read_body
    pulled = []

    async def receive():
        pulled.append(1000)
        return {"type": "http.request", "body": b" " * 1000, "more_body": True}     # never ends
    request = Request({"type": "http", "method": "POST", "headers": [(b"transfer-encoding", b"chunked")]},
                      receive)
    with pytest.raises(BadRequest) as caught:
        asyncio.run(read_body(request))
    assert caught.value.status == 413 and sum(pulled) <= MAX_BODY + 1000


def test_a_content_length_past_the_limit_is_refused_before_the_body_is_sent(mushra):
    with live_server(mushra) as port, socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"POST /api/answer HTTP/1.1\r\nHost: x\r\nContent-Length: 60000000\r\n\r\n")
        status, body = _response(sock)       # answered without a byte of the body
        assert status == 413 and json.loads(body)["error"]
        assert sock.recv(10) == b""          # and the connection is closed: the body is never read


def test_a_malformed_chunk_size_or_no_body_is_a_400(mushra):
    with live_server(mushra) as port:
        for chunks in (b"zz\r\n{}\r\n0\r\n\r\n", b"-5\r\n{}\r\n0\r\n\r\n", b"1" * 40 + b"\r\n{}\r\n0\r\n\r\n"):
            with socket.create_connection(("127.0.0.1", port)) as sock:
                sock.sendall(b"POST /api/answer HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks)
                assert _response(sock)[0] == 400, chunks
        with socket.create_connection(("127.0.0.1", port)) as sock:      # neither header: an empty body
            sock.sendall(b"POST /api/answer HTTP/1.1\r\nHost: x\r\n\r\n")
            status, body = _response(sock)
            assert status == 400 and b"JSON object" in body


def test_beyond_loopback_the_token_is_checked_before_the_body_is_read(mushra):
    token = participant_token(mushra.secret, "ana")
    total = 60 * 2 ** 20
    with live_server(mushra, require_token=True) as port:
        status, _, sent = _stream(port, "/api/answer?participant=ana", "Transfer-Encoding: chunked\r\n", total)
        assert status == 403 and sent < total // 4
        with socket.create_connection(("127.0.0.1", port)) as sock:      # a body announced, never sent
            sock.sendall(b"POST /api/answer?participant=ana&token=wrong HTTP/1.1\r\nHost: x\r\n"
                         b"Content-Length: 1000\r\n\r\n")
            assert _response(sock)[0] == 403
        answer = {"participant": "ana", "trial": 0, "stimulus": mushra.trials[0]["stimuli"][0]["key"], "score": 80}
        assert post(port, f"/api/answer?participant=ben&token={participant_token(mushra.secret, 'ben')}",
                    answer)[0] == 400                                    # the body speaks for someone else
        assert post(port, f"/api/answer?participant=ana&token={token}", answer)[0] == 200


def test_odd_numbers_deep_nesting_and_odd_ids_are_400s_not_500s(mushra):
    good = _ratings(mushra, 0)[0]
    raw = [b'{"participant": "p1", "trial": 0, "stimulus": "%s", "score": %s}' % (good["stimulus"].encode(), n)
           for n in (b"1" * 400, b"1e999", b"-1e999", b"Infinity", b"1" * 3900)]
    raw += [b"[" * 2000 + b"]" * 2000, b'{"a": ' + b"[" * 2000 + b"]" * 2000 + b"}",
            json.dumps({**good, "trial": 10 ** 400}).encode(), b"\xff\xfe{}", b'{"participant": "\\ud800"}',
            *(json.dumps({**good, "participant": odd}).encode() for odd in ("p1\n", "\u2028", "\x85", " ")),
            json.dumps({**good, "stimulus": [[[["x"]]]]}).encode()]
    with live_server(mushra) as port:
        for body in raw:
            status, answer = request(port, "POST", "/api/answer", raw=body)
            assert status == 400 and answer["error"], body[:60]
        for query in ("participant=p1%0A", "participant=" + "%F0%9F%8E%B5" * 65, "participant=%C2%85",
                      "participant=%E2%80%A8", "participant=%20"):
            assert request(port, "GET", f"/api/session?{query}")[0] == 400, query
        assert request(port, "GET", "/audio/99999999999999999999999/x?participant=p")[0] == 404
    with live_server(mushra, require_token=True) as port:
        for token in ("%C3%A9" * 10, "x" * 5000, ""):
            assert request(port, "GET", f"/api/session?participant=ana&token={token}")[0] == 403, token
    assert AnswerStore(mushra.database).rows() == []


def test_json_nested_past_the_recursion_limit_is_a_400():
    from wavegen.listen.server import BadRequest, parse_json
    for body in (b"[" * 3000 + b"]" * 3000, b'{"a": ' + b"{\"a\": " * 3000 + b"1" + b"}" * 3001):
        with pytest.raises(BadRequest) as caught:
            parse_json(body)
        assert caught.value.status == 400


def test_a_port_in_use_is_one_line_before_any_invitation(samples, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = wavegen_cli("listen", str(samples), "--results", str(tmp_path / "r"), "--port", str(port),
                          cwd=tmp_path)
    assert run.returncode == 1 and "open http" not in run.stdout, run.stdout
    assert run.stderr.strip() == f"error: port {port} on 127.0.0.1 is in use; pick another with --port"
    assert not (tmp_path / "r").exists()                  # nothing prepared for a test that cannot be served
