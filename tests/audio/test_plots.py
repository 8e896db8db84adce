"""Spectrogram pictures: energy drawn where it is, one row per signal, a PNG written whole."""

import numpy as np
import pytest

from wavegen.audio.plots import log_spectrogram, save_spectrograms


def _tone(hz, seconds=0.5, rate=16000):
    return np.sin(2 * np.pi * hz * np.arange(int(rate * seconds)) / rate).astype(np.float32)


def test_a_tone_is_drawn_at_its_frequency_and_a_later_one_later():
    rate = 16000
    audio = np.concatenate([_tone(500), _tone(3000)])
    freqs, times, db = log_spectrogram(audio, rate)
    assert db.max() == 0 and times[-1] < audio.size / rate
    early, late = db[:, times < 0.4], db[:, times > 0.6]
    assert abs(freqs[early.mean(axis=1).argmax()] - 500) <= 40
    assert abs(freqs[late.mean(axis=1).argmax()] - 3000) <= 40


def test_rows_are_saved_as_one_png(tmp_path):
    from PIL import Image
    path = save_spectrograms(tmp_path / "figure.png", [("500 Hz", _tone(500)), ("3 kHz", _tone(3000))], 16000,
                             title="two tones")
    with Image.open(path) as image:
        assert image.format == "PNG" and image.height > image.width / 3   # two stacked rows
    assert [p.name for p in tmp_path.iterdir()] == ["figure.png"]         # no temporary left behind
    with pytest.raises(ValueError, match="at least one"):
        save_spectrograms(tmp_path / "empty.png", [], 16000)
    assert not (tmp_path / "empty.png").exists()
