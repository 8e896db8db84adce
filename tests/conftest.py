"""Before any test: is the installation whole? (``wavegen.doctor``)

A broken install (say torchaudio built for another torch) would otherwise fail
most of the suite with the same deep traceback. Instead the session stops at
once with one line per broken package, naming it and the fix.
"""

import pytest


def pytest_configure(config):
    from wavegen.doctor import failures, run_checks
    broken = failures(run_checks())
    if broken:
        pytest.exit("\n".join(broken), returncode=3)
