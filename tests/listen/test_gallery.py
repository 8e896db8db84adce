"""wavegen listen --gallery: a static page with a player and a spectrogram per file."""

from __future__ import annotations

import subprocess
import sys




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
