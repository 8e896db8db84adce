"""The install check (wavegen.doctor) passes here and names a broken package in one line."""

import importlib.metadata
import subprocess
import sys

from wavegen import doctor


def test_every_compiled_dependency_works_as_wavegen_uses_it():
    checks = doctor.run_checks()
    assert [c.name for c in checks if not c.ok] == []
    assert {"torchaudio", "soundfile", "pesq", "wavenet CPU kernel"} <= {c.name for c in checks}


def test_a_torchaudio_that_does_not_load_is_named_with_the_fix(monkeypatch):
    # What torchaudio 2.11.1 beside torch 2.11.0 does on import.
    def broken_resample(*args, **kwargs):
        raise OSError("/venv/lib/torchaudio/lib/libtorchaudio.so: undefined symbol: "
                      "torch_exception_get_what_without_backtrace\nmore detail")
    monkeypatch.setattr("wavegen.audio.io.resample", broken_resample)
    lines = doctor.failures(doctor.run_checks())
    assert len(lines) == 1
    assert lines[0].startswith("broken install: torchaudio: OSError: ")
    assert "undefined symbol" in lines[0] and "make install" in lines[0] and "\n" not in lines[0]


def test_a_version_outside_the_pins_is_named(monkeypatch):
    real = importlib.metadata.version
    monkeypatch.setattr(importlib.metadata, "version",
                        lambda name: "2.11.1" if name == "torchaudio" else real(name))
    lines = doctor.failures(doctor.run_checks())
    assert len(lines) == 1
    assert lines[0].startswith("broken install: torchaudio: torchaudio 2.11.1 is installed but "
                               "wavegen needs torchaudio==2.11.0")


def test_wavegen_doctor_command_reports_each_check():
    run = subprocess.run([sys.executable, "-m", "wavegen.cli", "doctor"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "torchaudio: ok" in run.stdout and "pesq: ok" in run.stdout
