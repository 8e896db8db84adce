"""The committed samples/ folder: what samples/README.md lists is there, small, and `wavegen listen` runs it."""

from __future__ import annotations

import re
from pathlib import Path

import soundfile as sf

from wavegen import listen

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def _listed() -> dict[str, list[str]]:
    text = (SAMPLES / "README.md").read_text()
    found = {}
    for folder, body in re.findall(r"^## ([\w.-]+)/\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S):
        files = re.search(r"^- files: (.*)$", body, flags=re.M)
        found[folder] = re.findall(r"`([^`]+)`", files.group(1))
        assert "- made by: `wavegen recipe " in body and "- checkpoint: `exp/" in body
    return found


def test_every_listed_file_is_there_and_nothing_else():
    listed = _listed()
    assert {"segan-demo", "hifigan-demo"} <= set(listed)
    on_disk = {p.relative_to(SAMPLES).as_posix() for p in SAMPLES.rglob("*") if p.is_file()} - {"README.md"}
    assert on_disk == {f"{folder}/{name}" for folder, names in listed.items() for name in names}
    assert sum((SAMPLES / f).stat().st_size for f in on_disk) < 8 * 2 ** 20          # a few MB


def test_the_audio_is_sound_and_named_for_the_listening_test():
    for path in SAMPLES.rglob("*.wav"):
        info = sf.info(path)
        assert info.subtype == "PCM_16" and 0.3 < info.duration < 10, path
        item, _, system = path.stem.rpartition("_")
        assert item and system and "_" not in system, path
        audio, _ = sf.read(path)
        assert 1e-3 < abs(audio).max() <= 1.0, path


def test_wavegen_listen_samples_makes_a_mushra_test(tmp_path):
    test = listen.open_test(SAMPLES, results=tmp_path / "results")
    names = [t["name"] for t in test.trials]
    assert test.type == "mushra" and any(n.startswith("segan-demo/") for n in names)
    assert any(n.startswith("hifigan-demo/") for n in names)
    for trial in test.trials:
        systems = {s["system"] for s in trial["stimuli"]}
        assert {"reference", "anchor-3.5kHz"} <= systems and len(systems) <= 12
    segan = [t for t in test.trials if t["name"].startswith("segan-demo/")][0]
    assert {s["system"] for s in segan["stimuli"]} == {"noisy", "enhanced", "reference", "anchor-3.5kHz"}


def test_republishing_without_an_experiment_keeps_its_files_and_section(tmp_path, monkeypatch):
    # Re-publishing one retrained experiment (the others not on this machine) must not drop the rest.
    import shutil
    from wavegen.recipes.samples import publish
    copy = tmp_path / "samples"
    shutil.copytree(SAMPLES, copy)
    monkeypatch.chdir(tmp_path)                    # no exp/ here: every experiment is missing
    assert publish(copy) == []
    assert (copy / "README.md").read_text() == (SAMPLES / "README.md").read_text()
    assert sorted(p.name for p in copy.rglob("*")) == sorted(p.name for p in SAMPLES.rglob("*"))
