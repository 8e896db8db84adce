"""The install check (wavegen.doctor) passes here and names a broken package in one line."""

import importlib.metadata
import subprocess
import sys
import zipfile
from pathlib import Path

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


def test_the_wheel_ships_the_recipes_inside_wavegen_and_no_top_level_recipes(tmp_path):
    """`pip install .` must not claim the generic top-level name `recipes` in a user's environment."""
    root = Path(__file__).resolve().parent.parent
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(tmp_path), str(root)], capture_output=True, text=True,
                           env={"PATH": "/usr/bin:/bin"})
    assert build.returncode == 0, build.stderr
    names = zipfile.ZipFile(next(tmp_path.glob("wavegen-*.whl"))).namelist()
    top = {name.split("/")[0] for name in names if not name.split("/")[0].endswith((".dist-info", ".data"))}
    assert top == {"wavegen"}
    assert {"wavegen/recipes/segan/demo.py", "wavegen/recipes/_common.py",
            "wavegen/listen/static/index.html"} <= set(names)
