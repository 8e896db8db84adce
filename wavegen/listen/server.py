"""The listening-test web app (Starlette, served by uvicorn).

Routes: ``/`` the test page and its two static files, ``/api/session`` (the
participant's trials in their own shuffled order, with what they answered so
far), ``/api/answer`` and ``/api/complete`` (validated, stored at once) and
``/audio/<trial>/<key>`` (looked up in the test's own list of files: no URL is
ever turned into a path; ``x``, in an ABX test, is the participant's X). Beyond loopback every request carries the
participant's token, an HMAC of their id under the test's secret.

Every input is bounded and validated before use (a security boundary once served
beyond loopback). A POST names its participant (and token) in the query string,
as every other request does, and is authorised before its body is read; the body
is read piece by piece and refused with 413 once past ``MAX_BODY`` bytes (a
``Content-Length`` above it at once, a chunked body as soon as it passes it;
uvicorn's HTTP parser refuses a malformed chunk with 400). A POST with neither
header has an empty body (RFC 9112 §6.3), which is not an answer: 400. After an
error with the body unread the connection is closed. Ids are at most 64
printable characters, tokens at most 64 ASCII ones, numbers are compared without
overflow, and JSON nested too deep is a 400 like any other malformed body.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import ipaddress
import json
import logging
import math
import random
import socket
from importlib import resources
from urllib.parse import quote, urlencode

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from wavegen.errors import WavegenError
from wavegen.listen.design import PAIRED
from wavegen.listen.prepare import REFERENCE_KEY, PreparedTest
from wavegen.listen.store import AnswerStore
from wavegen.words import counted

log = logging.getLogger(__name__)
MAX_ID, MAX_TOKEN = 64, 64
STATIC = {"": ("index.html", "text/html; charset=utf-8"),
          "listen.js": ("listen.js", "text/javascript; charset=utf-8"),
          "listen.css": ("listen.css", "text/css; charset=utf-8")}
SCALES = {"mushra": (0, 100), "acr": (1, 5)}
MAX_BODY = 4096


class BadRequest(Exception):
    def __init__(self, status: int, message: str):
        self.status, self.message = status, message


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    """The request's body, never more than ``limit`` bytes plus one received piece held: 413 past ``limit``."""
    too_long = BadRequest(413, f"an answer is at most {limit} bytes")
    length = request.headers.get("content-length")
    if length is not None:
        if not (length.isascii() and length.isdigit()):
            raise BadRequest(400, "Content-Length: expected a number of bytes")
        if int(length) > limit:
            raise too_long
    body = bytearray()
    try:
        async for piece in request.stream():
            body += piece
            if len(body) > limit:
                raise too_long
    except ClientDisconnect:
        raise BadRequest(400, "the request ended before its body") from None
    return bytes(body)


def parse_json(body: bytes) -> dict:
    """A JSON object from ``body``; anything else (bad UTF-8, NaN, nested too deep) is a 400."""
    def refuse(constant):
        raise ValueError(f"{constant} is not a number")
    try:
        value = json.loads(body, parse_constant=refuse)
    except (ValueError, RecursionError):
        value = None
    if not isinstance(value, dict):
        raise BadRequest(400, "expected a JSON object")
    return value


def check_score(value, low: int, high: int, integer: bool) -> float:
    """A score on the scale ``low``..``high`` (an integer for ACR): ints compared as ints, never overflowing."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            isinstance(value, float) and not math.isfinite(value)) or not low <= value <= high or (
            integer and value != int(value)):
        raise BadRequest(400, f"score: expected {'an integer' if integer else 'a number'} from {low} to {high}")
    return float(value)


def valid_id(participant) -> bool:
    """A participant id: 1 to 64 printable characters (no control, separator or surrogate), not all blank."""
    return (isinstance(participant, str) and 0 < len(participant) <= MAX_ID and participant.isprintable()
            and bool(participant.strip()))


def participant_token(secret: str, participant: str) -> str:
    return hmac.new(secret.encode(), participant.encode(), hashlib.sha256).hexdigest()[:20]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_reach(host: str, participants: tuple[str, ...] = ()) -> None:
    """Before serving: each ``--participant`` a valid id, and beyond loopback at least one (links need tokens)."""
    for participant in participants:
        if not valid_id(participant):
            raise WavegenError(f"--participant {participant!r}: expected an id of 1 to {MAX_ID} printable "
                               f"characters")
    if not is_loopback(host) and not participants:
        raise WavegenError(f"--host {host} serves beyond this machine: give --participant ID for each participant "
                           f"(each gets a link with its own token)")


def invitation(test: PreparedTest, host: str, port: int, participants: tuple[str, ...] = ()) -> list[str]:
    """What ``wavegen listen`` prints before serving: the test, each participant's link, where to open it.

    Beyond loopback every participant needs a link with their own token, so a
    test served there without ``participants`` is refused.
    """
    check_reach(host, participants)
    private = is_loopback(host)
    url = f"http://{socket.getfqdn() if host in ('0.0.0.0', '::') else host}:{port}/"
    lines = [f"{test.type.upper()} test {test.name!r}: {counted(len(test.trials), 'trial')}; answers in {test.database}"]
    for participant in participants:
        query = {"participant": participant, **({} if private else
                                                {"token": participant_token(test.secret, participant)})}
        lines.append(f"  {participant}: {url}?{urlencode(query)}")
    lines.append(f"open {url} in a browser (Ctrl-C stops; run the same command again to continue)")
    return lines


X_KEY = "x"


def participant_order(test: PreparedTest, participant: str) -> tuple[list[int], dict[int, list[str]]]:
    """Trial order and each trial's stimulus order for one participant: random, and the same every visit."""
    seed = int.from_bytes(hashlib.sha256(f"{test.secret}\0{participant}".encode()).digest()[:8], "big")
    rng = random.Random(seed)
    trials = list(range(len(test.trials)))
    rng.shuffle(trials)
    stimuli = {}
    for i in trials:
        keys = [s["key"] for s in test.trials[i]["stimuli"]]
        rng.shuffle(keys)
        stimuli[i] = keys
    return trials, stimuli


def abx_x(test: PreparedTest, participant: str, trial: int) -> str:
    """Which of an ABX trial's two stimuli is this participant's X: a coin toss of its own, fixed per visit."""
    keys = sorted(s["key"] for s in test.trials[trial]["stimuli"])
    return keys[hashlib.sha256(f"{test.secret}\0{participant}\0{trial}\0x".encode()).digest()[0] & 1]


def make_app(test: PreparedTest, *, require_token: bool = False) -> Starlette:
    store = AnswerStore(test.database)

    def check_participant(participant, token) -> str:
        if not valid_id(participant):
            raise BadRequest(400, f"participant: expected an id of 1 to {MAX_ID} printable characters")
        if require_token and not (isinstance(token, str) and len(token) <= MAX_TOKEN and token.isascii()
                                  and hmac.compare_digest(token, participant_token(test.secret, participant))):
            raise BadRequest(403, "this link's participant token is missing or wrong")
        return participant

    def check_trial(value) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < len(test.trials):
            raise BadRequest(400, f"trial: expected a trial number from 0 to {len(test.trials) - 1}")
        return value

    def stimulus_of(trial: int, key) -> dict:
        found = next((s for s in test.trials[trial]["stimuli"] if s["key"] == key), None) \
            if isinstance(key, str) else None
        if found is None:
            shown = repr(key[:40]) if isinstance(key, str) else f"a {type(key).__name__}"
            raise BadRequest(400, f"stimulus: {shown} is not a stimulus of trial {trial}")
        return found

    def static(request: Request) -> Response:
        name = request.path_params.get("name", "")
        if name not in STATIC:
            raise BadRequest(404, "not found")
        file, media = STATIC[name]
        return Response(resources.files("wavegen.listen").joinpath("static", file).read_bytes(), media_type=media)

    def session(request: Request) -> JSONResponse:
        q = request.query_params
        participant = check_participant(q.get("participant"), q.get("token"))
        store.begin(participant)
        order, stimulus_order = participant_order(test, participant)
        answers, completed = store.answers_of(participant), store.completed_by(participant)
        token = f"participant={quote(participant, safe='')}" + (
            f"&token={quote(q.get('token'), safe='')}" if require_token else "")
        trials = []
        for i in order:
            entry = test.trials[i]
            given = answers.get(entry["name"], {})
            trials.append({
                "trial": i,
                "reference": f"/audio/{i}/{REFERENCE_KEY}?{token}" if entry["reference"] else None,
                "x": f"/audio/{i}/{X_KEY}?{token}" if test.type == "abx" else None,
                "stimuli": [{"key": k, "audio": f"/audio/{i}/{k}?{token}"} for k in stimulus_order[i]],
                "answers": {k: (v["score"] if v["choice"] is None else _key_of(i, v["choice"]))
                            for k, v in given.items()},
                "completed": entry["name"] in completed,
            })
        return JSONResponse({"test": test.name, "type": test.type, "instructions": test.instructions,
                             "trials": trials})

    def _key_of(trial: int, system: str) -> str | None:
        return next((s["key"] for s in test.trials[trial]["stimuli"] if s["system"] == system), None)

    def answer(participant: str, body: dict) -> JSONResponse:
        trial = check_trial(body.get("trial"))
        name = test.trials[trial]["name"]
        if test.type in PAIRED:
            chosen = stimulus_of(trial, body.get("choice"))
            pair = " vs ".join(sorted(s["system"] for s in test.trials[trial]["stimuli"]))
            # ABX: the score is 1 when the choice is X, else 0.
            correct = float(chosen["key"] == abx_x(test, participant, trial)) if test.type == "abx" else None
            stored = store.answer(participant, name, "choice", pair, choice=chosen["system"], score=correct)
        else:
            stimulus = stimulus_of(trial, body.get("stimulus"))
            score = check_score(body.get("score"), *SCALES[test.type], integer=test.type == "acr")
            stored = store.answer(participant, name, stimulus["key"], stimulus["system"], score=score)
        if not stored:
            raise BadRequest(409, f"trial {trial} is already complete; its answers can no longer change")
        return JSONResponse({"stored": True})

    def complete(participant: str, body: dict) -> JSONResponse:
        trial = check_trial(body.get("trial"))
        name = test.trials[trial]["name"]
        given = store.answers_of(participant).get(name, {})
        needed = {"choice"} if test.type in PAIRED else {s["key"] for s in test.trials[trial]["stimuli"]}
        missing = needed - set(given)
        if missing:
            raise BadRequest(400, f"trial {trial}: {counted(len(missing), 'stimulus', 'stimuli')} still without an answer")
        store.complete(participant, name)
        return JSONResponse({"completed": True})

    def audio(request: Request) -> Response:
        q = request.query_params
        if require_token:
            check_participant(q.get("participant"), q.get("token"))
        number = request.path_params["trial"]
        trial = int(number) if number.isascii() and number.isdigit() and len(number) <= 9 else -1
        key = request.path_params["key"]
        if key == X_KEY and test.type == "abx" and 0 <= trial < len(test.trials):
            key = abx_x(test, check_participant(q.get("participant"), q.get("token")), trial)
        path = test.audio_file(trial, key)
        if path is None or not path.is_file():
            raise BadRequest(404, "not found")
        return FileResponse(path, media_type="audio/wav")

    def who(request: Request, body: dict | None) -> str | None:
        """The participant of a POST: from the query (checked before the body is read), or else the body."""
        q = request.query_params
        named = q.get("participant")
        if body is None:                    # before the body: beyond loopback the query must authorise it
            if require_token and named is None:
                raise BadRequest(403, "this link's participant token is missing or wrong")
            return check_participant(named, q.get("token")) if named is not None else None
        own = body.get("participant")
        if named is None:
            return check_participant(own, body.get("token"))
        if own is not None and own != named:
            raise BadRequest(400, "participant: the answer names another participant than its link")
        return named

    def failed(exc: BadRequest, close: bool = False) -> JSONResponse:
        return JSONResponse({"error": exc.message}, status_code=exc.status,
                            headers={"Connection": "close"} if close else None)

    def handler(endpoint):
        """A GET: run the endpoint (SQLite, files) in the thread pool; 4xx as JSON."""
        async def run(request: Request) -> Response:
            try:
                return await run_in_threadpool(endpoint, request)
            except BadRequest as exc:
                return failed(exc)
        return run

    def post_handler(endpoint):
        """A POST: authorise, read the body (bounded), parse it, then run ``endpoint(participant, body)``."""
        async def run(request: Request) -> Response:
            read = False
            try:
                who(request, None)
                raw = await read_body(request)
                read = True
                body = parse_json(raw)
                return await run_in_threadpool(endpoint, who(request, body), body)
            except BadRequest as exc:
                return failed(exc, close=not read)
        return run

    return Starlette(routes=[
        Route("/", handler(static)), Route("/static/{name}", handler(static)),
        Route("/api/session", handler(session)),
        Route("/api/answer", post_handler(answer), methods=["POST"]),
        Route("/api/complete", post_handler(complete), methods=["POST"]),
        Route("/audio/{trial}/{key}", handler(audio)),
    ])


def bind(host: str, port: int) -> socket.socket:
    """The server's socket, bound before anything is printed: a port in use is one line, not a traceback."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise WavegenError(f"port {port} on {host} is in use; pick another with --port") from None
        raise WavegenError(f"cannot serve on {host} port {port} ({exc.strerror or exc}); "
                           f"pick another --host or --port") from None
    sock.set_inheritable(True)
    return sock


def serve(test: PreparedTest, sock: socket.socket, *, require_token: bool = False) -> None:
    """Serve the test on ``sock`` (from :func:`bind`) until interrupted (Ctrl-C)."""
    import uvicorn
    config = uvicorn.Config(make_app(test, require_token=require_token), log_level="warning")
    uvicorn.Server(config).run(sockets=[sock])
