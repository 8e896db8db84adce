"""What many tests share: running the real `wavegen` command, and checking a one-line error."""

from __future__ import annotations

import os
import subprocess
import sys


def wavegen_cli(*args, cwd, launcher=None, env=None):
    cmd = (launcher or [sys.executable, "-m", "wavegen.cli"]) + list(args)
    env = {**{k: v for k, v in os.environ.items() if k != "WAVEGEN_DATA"}, "PYTHONWARNINGS": "ignore", **(env or {})}
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)


def assert_one_line(error, *needles):
    message = str(error.value)
    assert "\n" not in message
    for needle in needles:
        assert str(needle) in message, (needle, message)
