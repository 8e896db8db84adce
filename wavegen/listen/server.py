"""The listening-test web app (Starlette, served by uvicorn).

Routes: ``/`` the test page and its two static files, ``/api/session`` (the
participant's trials in their own shuffled order, with what they answered so
far), ``/api/answer`` and ``/api/complete`` (validated, stored at once) and
``/audio/<trial>/<key>`` (looked up in the test's own list of files: no URL is
ever turned into a path; ``x``, in an ABX test, is the participant's X). Beyond loopback every request carries the
participant's token, an HMAC of their id under the test's secret.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import math
import random
import re
import socket
from importlib import resources
from urllib.parse import quote, urlencode

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from wavegen.errors import WavegenError
from wavegen.listen.design import PAIRED
from wavegen.listen.prepare import REFERENCE_KEY, PreparedTest
from wavegen.listen.store import AnswerStore

log = logging.getLogger(__name__)
_PARTICIPANT = re.compile(r"^[^\x00-\x1f\x7f]{1,64}$")
STATIC = {"": ("index.html", "text/html; charset=utf-8"),
          "listen.js": ("listen.js", "text/javascript; charset=utf-8"),
          "listen.css": ("listen.css", "text/css; charset=utf-8")}
SCALES = {"mushra": (0, 100), "acr": (1, 5)}
MAX_BODY = 4096


class BadRequest(Exception):
    def __init__(self, status: int, message: str):
        self.status, self.message = status, message


def participant_token(secret: str, participant: str) -> str:
    return hmac.new(secret.encode(), participant.encode(), hashlib.sha256).hexdigest()[:20]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def invitation(test: PreparedTest, host: str, port: int, participants: tuple[str, ...] = ()) -> list[str]:
    """What ``wavegen listen`` prints before serving: the test, each participant's link, where to open it.

    Beyond loopback every participant needs a link with their own token, so a
    test served there without ``participants`` is refused.
    """
    private = is_loopback(host)
    if not private and not participants:
        raise WavegenError(f"--host {host} serves beyond this machine: give --participant ID for each participant "
                           f"(each gets a link with its own token)")
    url = f"http://{socket.getfqdn() if host in ('0.0.0.0', '::') else host}:{port}/"
    lines = [f"{test.type.upper()} test {test.name!r}: {len(test.trials)} trials; answers in {test.database}"]
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
        if not isinstance(participant, str) or not _PARTICIPANT.match(participant) or not participant.strip():
            raise BadRequest(400, "participant: expected an id of 1 to 64 printable characters")
        if require_token and not (isinstance(token, str)
                                  and hmac.compare_digest(token, participant_token(test.secret, participant))):
            raise BadRequest(403, "this link's participant token is missing or wrong")
        return participant

    def check_trial(value) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < len(test.trials):
            raise BadRequest(400, f"trial: expected a trial number from 0 to {len(test.trials) - 1}")
        return value

    def stimulus_of(trial: int, key) -> dict:
        found = next((s for s in test.trials[trial]["stimuli"] if s["key"] == key), None)
        if found is None:
            raise BadRequest(400, f"stimulus: {str(key)[:40]!r} is not a stimulus of trial {trial}")
        return found

    def static(request: Request, body: None) -> Response:
        name = request.path_params.get("name", "")
        if name not in STATIC:
            raise BadRequest(404, "not found")
        file, media = STATIC[name]
        return Response(resources.files("wavegen.listen").joinpath("static", file).read_bytes(), media_type=media)

    def session(request: Request, body: None) -> JSONResponse:
        q = request.query_params
        participant = check_participant(q.get("participant"), q.get("token"))
        store.begin(participant)
        order, stimulus_order = participant_order(test, participant)
        answers, completed = store.answers_of(participant), store.completed_by(participant)
        token = f"participant={quote(participant, safe='')}" + (f"&token={q.get('token')}" if require_token else "")
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

    def answer(request: Request, body: dict) -> JSONResponse:
        participant = check_participant(body.get("participant"), body.get("token"))
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
            low, high = SCALES[test.type]
            score = body.get("score")
            if (not isinstance(score, (int, float)) or isinstance(score, bool) or not math.isfinite(score)
                    or not low <= score <= high or (test.type == "acr" and score != int(score))):
                kind = "an integer" if test.type == "acr" else "a number"
                raise BadRequest(400, f"score: expected {kind} from {low} to {high}")
            stored = store.answer(participant, name, stimulus["key"], stimulus["system"], score=float(score))
        if not stored:
            raise BadRequest(409, f"trial {trial} is already complete; its answers can no longer change")
        return JSONResponse({"stored": True})

    def complete(request: Request, body: dict) -> JSONResponse:
        participant = check_participant(body.get("participant"), body.get("token"))
        trial = check_trial(body.get("trial"))
        name = test.trials[trial]["name"]
        given = store.answers_of(participant).get(name, {})
        needed = {"choice"} if test.type in PAIRED else {s["key"] for s in test.trials[trial]["stimuli"]}
        missing = needed - set(given)
        if missing:
            raise BadRequest(400, f"trial {trial}: {len(missing)} stimulus(i) still without an answer")
        store.complete(participant, name)
        return JSONResponse({"completed": True})

    def audio(request: Request, body: None) -> Response:
        q = request.query_params
        if require_token:
            check_participant(q.get("participant"), q.get("token"))
        try:
            trial = int(request.path_params["trial"])
        except ValueError:
            trial = -1
        key = request.path_params["key"]
        if key == X_KEY and test.type == "abx" and 0 <= trial < len(test.trials):
            key = abx_x(test, check_participant(q.get("participant"), q.get("token")), trial)
        path = test.audio_file(trial, key)
        if path is None or not path.is_file():
            raise BadRequest(404, "not found")
        return FileResponse(path, media_type="audio/wav")

    def handler(endpoint, post: bool = False):
        """Parse a POST body here; run the endpoint (SQLite, files) in the thread pool; 4xx as JSON."""
        async def run(request: Request) -> Response:
            try:
                body = None
                if post:
                    length = request.headers.get("content-length") or "0"
                    if not length.isdigit() or int(length) > MAX_BODY:
                        raise BadRequest(413, f"an answer is at most {MAX_BODY} bytes")
                    try:
                        body = await request.json()
                    except ValueError:
                        body = None
                    if not isinstance(body, dict):
                        raise BadRequest(400, "expected a JSON object")
                return await run_in_threadpool(endpoint, request, body)
            except BadRequest as exc:
                return JSONResponse({"error": exc.message}, status_code=exc.status)
        return run

    return Starlette(routes=[
        Route("/", handler(static)), Route("/static/{name}", handler(static)),
        Route("/api/session", handler(session)),
        Route("/api/answer", handler(answer, post=True), methods=["POST"]),
        Route("/api/complete", handler(complete, post=True), methods=["POST"]),
        Route("/audio/{trial}/{key}", handler(audio)),
    ])


def serve(test: PreparedTest, host: str = "127.0.0.1", port: int = 8000, *, require_token: bool = False) -> None:
    """Serve the test until interrupted (Ctrl-C)."""
    import uvicorn
    uvicorn.run(make_app(test, require_token=require_token), host=host, port=port, log_level="warning")
