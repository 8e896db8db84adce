"""wavegen listen --gallery: a static page with a player and a spectrogram per file."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support import assert_one_line, wavegen_cli
from wavegen.errors import WavegenError


def test_gallery_page_has_a_player_and_spectrogram_per_file(samples, tmp_path):
    from PIL import Image
    Image.new("RGB", (8, 8)).save(samples / "grid.png")
    out = tmp_path / "gallery"
    run = subprocess.run([sys.executable, "-m", "wavegen.cli", "listen", str(samples), "--gallery", "-o", str(out)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    page = (out / "index.html").read_text()
    assert page.count("<audio") == 6 and page.count("spectrograms/") == 6 and 'src="media/grid.png"' in page
    for wav in samples.glob("*.wav"):
        assert (out / "media" / wav.name).read_bytes() == wav.read_bytes()
        assert (out / "spectrograms" / f"{wav.name}.png").stat().st_size > 1000
    inside = subprocess.run([sys.executable, "-m", "wavegen.cli", "listen", str(samples), "--gallery", "-o",
                             str(samples / "g")], capture_output=True, text=True)
    assert inside.returncode != 0 and "outside the samples folder" in inside.stderr


def _users_gallery(out):
    """A folder already holding the user's own page and a file where the gallery would copy one."""
    (out / "media").mkdir(parents=True)
    (out / "index.html").write_text("<p>my page</p>")
    (out / "media" / "u1_clean.wav").write_bytes(b"my recording")
    return out


def test_a_gallery_never_replaces_a_file_without_overwrite(samples, tmp_path):
    out = _users_gallery(tmp_path / "site")
    run = wavegen_cli("listen", str(samples), "--gallery", "-o", str(out), cwd=tmp_path)
    assert run.returncode == 1 and run.stderr.count("\n") == 1 and "Traceback" not in run.stderr
    assert "already exists" in run.stderr and "--overwrite" in run.stderr
    assert (out / "index.html").read_text() == "<p>my page</p>"
    assert (out / "media" / "u1_clean.wav").read_bytes() == b"my recording"
    assert sorted(p.name for p in out.rglob("*")) == ["index.html", "media", "u1_clean.wav"]   # nothing written
    run = wavegen_cli("listen", str(samples), "--gallery", "-o", str(out), "--overwrite", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert (out / "media" / "u1_clean.wav").read_bytes() == (samples / "u1_clean.wav").read_bytes()
    assert "<audio" in (out / "index.html").read_text()


def test_a_new_gallery_keeps_but_never_shows_an_earlier_ones_files(samples, tmp_path):
    from wavegen.listen.gallery import write_gallery
    out = tmp_path / "gallery"
    write_gallery(samples, out)
    (samples / "u2_noisy.wav").unlink()
    write_gallery(samples, out, overwrite=True)
    page = (out / "index.html").read_text()
    assert (out / "media" / "u2_noisy.wav").exists()            # not ours to delete...
    assert "u2_noisy" not in page and page.count("<audio") == 5  # ...and not on the page
    with pytest.raises(WavegenError) as caught:
        write_gallery(samples, out)
    assert_one_line(caught, "index.html", "already exists", "--overwrite")
