"""What the listening-test tests share: a samples folder and a MUSHRA test prepared from it."""

from __future__ import annotations

import pytest

from tests.listening import write_samples
from wavegen import listen


@pytest.fixture
def samples(tmp_path):
    folder = tmp_path / "samples"
    folder.mkdir()
    return write_samples(folder)


@pytest.fixture
def mushra(samples, tmp_path):
    return listen.open_test(samples, results=tmp_path / "results")
