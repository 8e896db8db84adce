"""Helpers for the listening-test tests: a small samples folder, a live server, plain HTTP calls."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
import soundfile as sf


def write_samples(folder: Path, items=("u1", "u2"), systems=("noisy", "enhanced"), *, rate: int = 16000,
                  seconds: float = 0.5, reference: str = "clean", seed: int = 0) -> Path:
    """``folder/<item>_<system>.wav``: a harmonic tone with noise as the reference, noisier copies as systems."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(rate * seconds)) / rate
    for i, item in enumerate(items):
        clean = sum(0.15 / k * np.sin(2 * np.pi * (180 + 40 * i) * k * t) for k in range(1, 30))
        clean = clean + 0.02 * rng.standard_normal(t.size)
        if reference:
            sf.write(folder / f"{item}_{reference}.wav", clean, rate)
        for j, system in enumerate(systems):
            sf.write(folder / f"{item}_{system}.wav", clean + 0.05 * (j + 1) * rng.standard_normal(t.size), rate)
    return folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on port {port}")


@contextmanager
def live_server(test, *, require_token: bool = False):
    """The test's app served by uvicorn in a thread; yields the port."""
    import uvicorn
    from wavegen.listen.server import make_app
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(make_app(test, require_token=require_token), host="127.0.0.1",
                                           port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for(port)
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def request(port: int, method: str, path: str, body=None, raw: bytes | None = None) -> tuple[int, dict | bytes]:
    """(status, JSON or bytes) of one request sent exactly as given (no path normalisation)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    connection.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
    response = connection.getresponse()
    payload = response.read()
    connection.close()
    if response.getheader("content-type", "").startswith("application/json"):
        return response.status, json.loads(payload)
    return response.status, payload


def post(port: int, path: str, body) -> tuple[int, dict]:
    return request(port, "POST", path, body)


def participant_session(port, participant="p1", token=None):
    """The participant's session from a running test server (their trials, what they answered)."""
    query = {"participant": participant, **({"token": token} if token else {})}
    status, body = request(port, "GET", f"/api/session?{urlencode(query)}")
    assert status == 200, body
    return body
