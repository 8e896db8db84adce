"""SC09 (the digits of Speech Commands v0.02): the reader on the real layout, its cache, and the demo corpus."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import soundfile as sf
import torch

import wavegen.data.packed as packed_audio
import wavegen.data.sc09 as sc09
import wavegen.data.sc09_demo as sc09_demo
from wavegen.audio.io import resample
from wavegen.data.locate import DEFAULT_FOLDERS, locate_corpus
from wavegen.data.sc09 import (CLIP_SAMPLES, DIGITS, SC09Manifest, check_sc09_layout, prepare_sc09,
                               scan_sc09)
from tests.support import assert_one_line
from wavegen.data.sc09_demo import write_sc09_demo
from wavegen.errors import DatasetError

DEMO_TINY = dict(seed=3, speakers=6, repetitions=1, other_words=1)



def word_sound(seconds, rate=16000, channels=1, pitch=220.0):
    t = np.arange(int(seconds * rate)) / rate
    audio = 0.3 * np.sin(2 * np.pi * pitch * t)
    return audio if channels == 1 else np.stack([audio, 0.5 * audio], axis=1)


def write_wav(path, audio, rate=16000):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), audio, rate, subtype="PCM_16")


@pytest.fixture
def real_root(tmp_path):
    """A small corpus in the real v0.02 layout: three speakers, two digits each, and everything around them."""
    root = tmp_path / "speech_commands_v0.02"
    for label, word in enumerate(DIGITS):
        for speaker in ("0a7c2a8d", "a69b9b3e", "bb05582b"):
            write_wav(root / word / f"{speaker}_nohash_0.wav", word_sound(1.0, pitch=200 + 10 * label))
    write_wav(root / "three" / "0a7c2a8d_nohash_1.wav", word_sound(0.5))                     # short
    write_wav(root / "four" / "0a7c2a8d_nohash_1.wav", word_sound(1.2, 44100, channels=2), 44100)
    write_wav(root / "yes" / "a69b9b3e_nohash_0.wav", word_sound(1.0))
    write_wav(root / "_background_noise_" / "white_noise.wav", 0.1 * np.random.default_rng(0).standard_normal(48000))
    (root / "_background_noise_" / "README.md").write_text("noise\n")
    (root / "validation_list.txt").write_text(
        "".join(f"{word}/a69b9b3e_nohash_0.wav\n" for word in (*DIGITS, "yes")))
    (root / "testing_list.txt").write_text("".join(f"{word}/bb05582b_nohash_0.wav\n" for word in DIGITS))
    (root / "LICENSE").write_text("CC BY 4.0\n")
    (root / "README.md").write_text("Speech Commands\n")
    return root


# ---------------------------------------------------------------- the reader

def test_scan_keeps_the_digits_and_honours_the_split_lists(real_root):
    clips = scan_sc09(real_root)
    assert len(clips) == 32 and {c.word for c in clips} == set(DIGITS)
    assert all(c.label == DIGITS.index(c.word) for c in clips)
    assert all("_background_noise_" not in str(c.path) and c.path.suffix == ".wav" for c in clips)
    by_speaker = {c.speaker: {x.split for x in clips if x.speaker == c.speaker} for c in clips}
    assert by_speaker == {"0a7c2a8d": {"train"}, "a69b9b3e": {"validation"}, "bb05582b": {"test"}}
    assert [c.label for c in clips] == sorted(c.label for c in clips)


def test_prepare_pads_trims_and_resamples_to_16384_samples(real_root, tmp_path):
    manifest = prepare_sc09(real_root, tmp_path / "cache")
    assert manifest.counts == {"train": 12, "validation": 10, "test": 10}
    assert manifest.words == DIGITS and len(manifest) == 32
    packed = np.load(tmp_path / "cache" / "clips.npy")
    assert packed.shape == (32, CLIP_SAMPLES) and packed.dtype == np.int16
    train = manifest.audio("train")
    assert train.shape == (12, CLIP_SAMPLES) and train.dtype == np.float32
    names = [manifest.names[i] for i in manifest.rows("train")]
    short = train[names.index("three/0a7c2a8d_nohash_1")]
    assert np.abs(short[:7900]).max() > 0.2 and not short[8000:].any()              # padded at the end
    full = train[names.index("three/0a7c2a8d_nohash_0")]
    assert np.abs(full[:16000]).max() > 0.2 and not full[16000:].any()
    stereo = train[names.index("four/0a7c2a8d_nohash_1")]                           # 44.1 kHz, 1.2 s, 2 ch
    expected = resample(word_sound(1.2, 44100, channels=2).mean(axis=1), 44100, 16000).numpy()[:CLIP_SAMPLES]
    np.testing.assert_allclose(stereo, expected, atol=2e-4)
    np.testing.assert_array_equal(manifest.labels("test"), np.arange(10))
    audio, label = manifest.clips("validation")[7]
    assert audio.shape == (CLIP_SAMPLES,) and audio.dtype == torch.float32
    assert label.dtype == torch.int64 and label.shape == () and int(label) == 7
    assert len(manifest.clips("test")) == 10
    with pytest.raises(IndexError):
        manifest.clips("test")[10]
    assert SC09Manifest.load(tmp_path / "cache").counts == manifest.counts


def test_prepare_skips_itself_and_rebuilds_when_a_file_changes(real_root, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    first = prepare_sc09(real_root, cache)
    row = first.names.index("five/0a7c2a8d_nohash_0")
    with monkeypatch.context() as patch:
        patch.setattr(packed_audio, "read_audio", lambda *a, **k: pytest.fail("read audio for an unchanged corpus"))
        assert prepare_sc09(real_root, cache).names == first.names
    write_wav(real_root / "five" / "0a7c2a8d_nohash_0.wav", -word_sound(0.25))
    rebuilt = prepare_sc09(real_root, cache)
    assert not rebuilt.packed()[row][4100:].any() and rebuilt.packed()[row][:3900].any()


def test_a_missing_corpus_is_one_line_naming_the_layout_and_source(tmp_path):
    with pytest.raises(DatasetError) as error:
        scan_sc09(tmp_path / "nowhere")
    assert_one_line(error, "not a folder", "<word>/<speaker>_nohash_<n>.wav", "validation_list.txt",
                    "speech_commands_v0.02.tar.gz")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "speech_commands_v0.02.tar.gz").write_bytes(b"\x1f\x8b")
    with pytest.raises(DatasetError) as error:
        scan_sc09(tmp_path / "data")
    assert_one_line(error, "no digit folders", "speech_commands_v0.02.tar.gz is there but not unpacked")


def test_a_nested_corpus_is_pointed_at(real_root):
    with pytest.raises(DatasetError) as error:
        scan_sc09(real_root.parent)
    assert_one_line(error, f"did you mean {real_root}")


def test_misshapen_corpora_are_refused(real_root):
    with open(real_root / "validation_list.txt", "a") as listed:
        listed.write("six/bb05582b_nohash_0.wav\n")
    with pytest.raises(DatasetError) as error:
        scan_sc09(real_root)
    assert_one_line(error, "six/bb05582b_nohash_0.wav is in both")
    (real_root / "validation_list.txt").write_text("")
    (real_root / "testing_list.txt").write_text("seven/bb05582b_nohash_9.wav\n")
    with pytest.raises(DatasetError) as error:
        scan_sc09(real_root)
    assert_one_line(error, "testing_list.txt names seven/bb05582b_nohash_9.wav, which is not there")
    (real_root / "testing_list.txt").unlink()
    with pytest.raises(DatasetError) as error:
        scan_sc09(real_root)
    assert_one_line(error, "has no testing_list.txt")
    for path in (real_root / "nine").iterdir():
        path.unlink()
    (real_root / "nine").rmdir()
    with pytest.raises(DatasetError) as error:
        scan_sc09(real_root)
    assert_one_line(error, "missing the digit folder(s) nine")


def test_a_bad_audio_file_is_named_and_leaves_no_cache(real_root, tmp_path):
    bad = real_root / "two" / "0a7c2a8d_nohash_0.wav"
    bad.write_bytes(b"RIFF not really a wave file")
    with pytest.raises(DatasetError) as error:
        prepare_sc09(real_root, tmp_path / "cache")
    assert_one_line(error, bad)
    assert not any((tmp_path / "cache").iterdir())


def test_locate_finds_sc09_in_its_default_folder(real_root, monkeypatch):
    assert DEFAULT_FOLDERS["sc09"] == real_root.name
    monkeypatch.delenv("WAVEGEN_DATA", raising=False)
    monkeypatch.chdir(real_root.parent)
    with pytest.raises(DatasetError) as error:
        locate_corpus("sc09", None, check_sc09_layout)
    assert_one_line(error, "data/speech_commands_v0.02", "--data-root")
    monkeypatch.setenv("WAVEGEN_DATA", str(real_root.parent))
    assert locate_corpus("sc09", None, check_sc09_layout) == real_root.parent / real_root.name


# ---------------------------------------------------------------- the demo corpus

@pytest.fixture(scope="module")
def demo_root(tmp_path_factory):
    return write_sc09_demo(tmp_path_factory.mktemp("sc09") / "speech_commands_v0.02", **DEMO_TINY)


def onset_ms(audio, floor_db=20.0):
    """Where the first 10 ms frame within ``floor_db`` of the loudest is."""
    frames = audio[:audio.size // 160 * 160].reshape(-1, 160)
    energy = 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-20)
    return 10 * int(np.argmax(energy > energy.max() - floor_db))


def test_demo_is_written_in_the_speech_commands_layout(demo_root):
    folders = sorted(p.name for p in demo_root.iterdir() if p.is_dir())
    assert folders == sorted([*DIGITS, "yes", "_background_noise_"])
    noise = demo_root / "_background_noise_"
    assert (noise / "README.md").is_file()
    for path in noise.glob("*.wav"):
        info = sf.info(str(path))
        assert (info.samplerate, info.channels, info.frames) == (16000, 1, 160000)
    assert json.loads((demo_root / ".wavegen_demo.json").read_text())["complete"] is True
    listed = (demo_root / "validation_list.txt").read_text().splitlines()
    listed += (demo_root / "testing_list.txt").read_text().splitlines()
    assert any(line.startswith("yes/") for line in listed)              # the reader must leave these out
    assert all((demo_root / line).is_file() for line in listed)


def test_demo_splits_are_by_speaker_and_none_is_empty(demo_root):
    clips = scan_sc09(demo_root)
    assert len(clips) == 6 * 10
    speakers = {split: {c.speaker for c in clips if c.split == split} for split in sc09.SPLITS}
    assert all(speakers.values())
    assert not (speakers["train"] & speakers["validation"] or speakers["train"] & speakers["test"]
                or speakers["validation"] & speakers["test"])
    assert all(len(s) == 8 and int(s, 16) >= 0 for s in set().union(*speakers.values()))


def test_demo_clips_are_audible_unclipped_and_placed_at_different_times(demo_root):
    onsets = []
    for clip in scan_sc09(demo_root):
        info = sf.info(str(clip.path))
        assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
        assert 0.3 * 16000 < info.frames <= 16000
        audio, _ = sf.read(str(clip.path))
        level = 10 * np.log10(np.mean(audio ** 2))
        assert -40 < level and np.abs(audio).max() < 0.95, (clip.path, level)
        assert np.count_nonzero(audio) > 0.5 * audio.size                     # a room tone, not digital silence
        onsets.append(onset_ms(audio))
    assert len(set(onsets)) > len(onsets) // 2 and np.ptp(onsets) > 250


def test_demo_splits_speakers_as_speech_commands_does():
    # which_set's number for the speakers of the first lines of v0.02's validation and testing lists.
    assert sc09_demo.percentage_hash("a69b9b3e") < 10 <= sc09_demo.percentage_hash("bb05582b") < 20
    for seed in range(20):
        splits = list(sc09_demo.speaker_splits(sc09_demo._speaker_ids(seed, 40)).values())
        assert splits.count("validation") >= 3 and splits.count("test") >= 3
    few = sc09_demo._speaker_ids(0, 6)                        # too few for chance to fill every split
    ranked = sorted(few, key=sc09_demo.percentage_hash)
    splits = sc09_demo.speaker_splits(few)
    assert [splits[s] for s in ranked] == ["validation", "test"] + ["train"] * 4


def test_demo_is_deterministic_and_skips_a_complete_corpus(demo_root, tmp_path, monkeypatch):
    def digest(root):
        files = sorted(p for p in root.rglob("*") if p.is_file())
        return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
    again = write_sc09_demo(tmp_path / "again", **DEMO_TINY)
    assert digest(again) == digest(demo_root)
    monkeypatch.setattr(sc09_demo, "speak", lambda *a, **k: pytest.fail("spoke again for a complete corpus"))
    assert write_sc09_demo(again, **DEMO_TINY) == again


def test_demo_goes_through_prepare(demo_root, tmp_path):
    manifest = prepare_sc09(demo_root, tmp_path / "cache")
    assert sum(manifest.counts.values()) == 60 and all(manifest.counts.values())
    assert set(manifest.labels("train")) <= set(range(10))


def test_demo_never_overwrites_a_real_corpus(real_root):
    before = (real_root / "validation_list.txt").read_text()
    with pytest.raises(DatasetError) as error:
        write_sc09_demo(real_root, **DEMO_TINY)
    assert_one_line(error, "refusing to overwrite")
    assert (real_root / "validation_list.txt").read_text() == before
    assert (real_root / "zero" / "0a7c2a8d_nohash_0.wav").is_file()


def test_demo_arguments_are_checked(tmp_path):
    with pytest.raises(DatasetError) as error:
        write_sc09_demo(tmp_path / "sc", speakers=2)
    assert_one_line(error, "speakers must be at least 3")
    assert not (tmp_path / "sc").exists()
