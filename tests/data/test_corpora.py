"""WaveNet corpus readers (LJSpeech, VCTK 0.80/0.92, plain folders), their cache and training crops."""

from __future__ import annotations

import json
import math
import pickle
import shutil

import numpy as np
import pytest
import soundfile as sf
import torch

from tests.support import assert_one_line
import wavegen.data.corpora as corpora
import wavegen.data.packed as packed_audio
from wavegen.audio.io import resample
from wavegen.data.corpora import CorpusManifest, WaveformCrops, prepare_corpus
from wavegen.data.ljspeech import scan_ljspeech
from wavegen.data.utterances import Utterance, scan_folder
from wavegen.data.vctk import scan_vctk
from wavegen.data.demo import write_ljspeech_demo, write_vctk_demo
from wavegen.errors import DatasetError

from tests.speech_signals import f0_track

LJ_TINY = dict(seed=1, utterances=5, seconds=(0.4, 0.7))
VCTK_TINY = dict(seed=1, speakers=3, utterances_per_speaker=3, seconds=(0.4, 0.6))


@pytest.fixture(scope="module")
def lj_root(tmp_path_factory):
    return write_ljspeech_demo(tmp_path_factory.mktemp("lj") / "LJSpeech-1.1", **LJ_TINY)


@pytest.fixture(scope="module")
def vctk_root(tmp_path_factory):
    return write_vctk_demo(tmp_path_factory.mktemp("vctk") / "VCTK-Corpus-0.92", **VCTK_TINY)


@pytest.fixture(scope="module")
def vctk(vctk_root, tmp_path_factory):
    return prepare_corpus("vctk", vctk_root, tmp_path_factory.mktemp("cache"), sample_rate=16000,
                          test_utterances=4, seed=5)



def tone(seconds, rate, channels=1):
    t = np.arange(int(seconds * rate)) / rate
    audio = 0.3 * np.sin(2 * np.pi * 220 * t)
    return audio if channels == 1 else np.stack([audio, 0.5 * audio], axis=1)


# ---------------------------------------------------------------- demo corpora and scanners

def test_ljspeech_demo_is_read_by_the_ljspeech_scanner(lj_root):
    rows = (lj_root / "metadata.csv").read_text().splitlines()
    assert [row.split("|")[0] for row in rows] == [f"LJ001-{i:04d}" for i in range(1, 6)]
    assert all(len(row.split("|")) == 3 and row.split("|")[1] for row in rows)
    utterances = scan_ljspeech(lj_root)
    assert [u.path for u in utterances] == [lj_root / "wavs" / f"LJ001-{i:04d}.wav" for i in range(1, 6)]
    assert {u.speaker for u in utterances} == {"LJ"}
    assert [u.text for u in utterances] == [row.split("|")[2] for row in rows]
    for u in utterances:
        info = sf.info(str(u.path))
        assert (info.samplerate, info.channels, info.subtype) == (22050, 1, "PCM_16")
        audio, _ = sf.read(str(u.path))
        assert 0.05 < np.abs(audio).max() < 0.9 and audio.std() > 0.005


def test_ljspeech_metadata_is_not_quoted(lj_root, tmp_path):
    root = shutil.copytree(lj_root, tmp_path / "LJSpeech-1.1")
    # Real LJSpeech rows hold unbalanced quotes; the normalized (third) column is the text.
    (root / "metadata.csv").write_text('LJ001-0001|He said "1 word.|He said "one word.\n'
                                       'LJ001-0002|Mr. Smith|Mister Smith\n')
    assert [u.text for u in scan_ljspeech(root)] == ['He said "one word.', "Mister Smith"]


def test_vctk_demo_is_read_by_the_vctk_scanner(vctk_root):
    speakers = ["p225", "p226", "p227"]
    audio_dir = vctk_root / "wav48_silence_trimmed"
    assert sorted(p.name for p in audio_dir.iterdir()) == speakers
    assert len(list(audio_dir.rglob("*_mic2.flac"))) == 9
    utterances = scan_vctk(vctk_root)
    names = [f"{s}_{i:03d}" for s in speakers for i in (1, 2, 3)]
    assert [u.path.name for u in utterances] == [f"{name}_mic1.flac" for name in names]
    assert [u.speaker for u in utterances] == [s for s in speakers for _ in range(3)]
    for u in utterances:
        transcript = vctk_root / "txt" / u.speaker / u.path.name.replace("_mic1.flac", ".txt")
        assert u.text == transcript.read_text().strip()
        info = sf.info(str(u.path))
        assert (info.samplerate, info.channels, info.format) == (48000, 1, "FLAC")
        audio, _ = sf.read(str(u.path))
        assert 0.05 < np.abs(audio).max() < 0.9 and audio.std() > 0.005
    assert all(u.path.name.endswith("_mic2.flac") for u in scan_vctk(vctk_root, mic="mic2"))
    assert "p226  " in (vctk_root / "speaker-info.txt").read_text()
    with pytest.raises(DatasetError, match="mic1, mic2"):
        scan_vctk(vctk_root, mic="mic3")


def test_demo_speakers_sound_like_who_the_corpora_say(lj_root, vctk_root):
    def median_f0(paths):
        tracks = []
        for path in paths:
            audio, sr = sf.read(str(path))
            tracks.append(f0_track(resample(audio, sr, 16000).numpy(), 16000))
        return np.nanmedian(np.concatenate(tracks))

    # LJSpeech's reader is a woman; VCTK's demo speakers alternate woman, man, woman.
    assert median_f0(sorted((lj_root / "wavs").glob("*.wav"))) > 150
    by_speaker = {s: median_f0(sorted((vctk_root / "wav48_silence_trimmed" / s).glob("*_mic1.flac")))
                  for s in ("p225", "p226", "p227")}
    assert min(by_speaker["p225"], by_speaker["p227"]) > 1.3 * by_speaker["p226"], by_speaker


def test_vctk_080_layout(tmp_path):
    for name in ("p225/p225_001", "p225/p225_002", "p226/p226_001"):
        (tmp_path / "wav48" / name).parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(tmp_path / "wav48" / f"{name}.wav"), tone(0.1, 48000), 48000, subtype="PCM_16")
    (tmp_path / "txt" / "p225").mkdir(parents=True)
    (tmp_path / "txt" / "p225" / "p225_001.txt").write_text("Please call Stella.\n")
    utterances = scan_vctk(tmp_path)
    assert [(u.path.name, u.speaker, u.text) for u in utterances] == [
        ("p225_001.wav", "p225", "Please call Stella."), ("p225_002.wav", "p225", None),
        ("p226_001.wav", "p226", None)]


def test_folder_scanner_names_speakers_after_folders(tmp_path):
    root = tmp_path / "my_voice"
    for rel in ("a.wav", "alice/b.flac", "alice/c.wav", "bob/x/d.wav"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(root / rel), tone(0.05, 16000), 16000)
    (root / "notes.txt").write_text("not audio")
    assert scan_folder(root) == [Utterance(root / "a.wav", "my_voice", None),
                                 Utterance(root / "alice/b.flac", "alice", None),
                                 Utterance(root / "alice/c.wav", "alice", None),
                                 Utterance(root / "bob/x/d.wav", "bob/x", None)]
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="holds no audio files"):
        scan_folder(tmp_path / "empty")


def test_demos_are_idempotent_and_keep_out_of_real_corpora(lj_root, vctk_root, tmp_path):
    demos = ((lj_root, write_ljspeech_demo, LJ_TINY), (vctk_root, write_vctk_demo, VCTK_TINY))
    for root, write, tiny in demos:
        files = [p for p in root.rglob("*") if p.is_file()]
        before = {p: p.stat().st_mtime_ns for p in files}
        write(root, **tiny)
        assert {p: p.stat().st_mtime_ns for p in files} == before
    (tmp_path / "wavs").mkdir()
    with pytest.raises(DatasetError, match="refusing to overwrite"):
        write_ljspeech_demo(tmp_path, **LJ_TINY)
    assert (tmp_path / "wavs").is_dir()


# ---------------------------------------------------------------- layout errors

def test_missing_ljspeech_layout_is_a_clear_error(lj_root, tmp_path):
    layout = ("metadata.csv", "wavs/<id>.wav", "keithito.com/LJ-Speech-Dataset")
    with pytest.raises(DatasetError, match="not a folder") as error:
        scan_ljspeech(tmp_path / "nowhere")
    assert_one_line(error, tmp_path / "nowhere", *layout)
    root = shutil.copytree(lj_root, tmp_path / "LJSpeech-1.1")
    with pytest.raises(DatasetError, match="no metadata.csv") as error:
        scan_ljspeech(tmp_path)                 # the corpus sits one folder down: say so
    assert_one_line(error, f"did you mean {root}?", *layout)
    (root / "wavs" / "LJ001-0002.wav").unlink()
    (root / "wavs" / "LJ001-0004.wav").unlink()
    with pytest.raises(DatasetError, match="2 of 5") as error:
        scan_ljspeech(root)
    assert_one_line(error, root / "wavs" / "LJ001-0002.wav", *layout)
    assert "LJ001-0004" not in str(error.value)
    shutil.rmtree(root / "wavs")
    with pytest.raises(DatasetError, match="no wavs folder") as error:
        scan_ljspeech(root)
    assert_one_line(error, *layout)
    (root / "metadata.csv").unlink()
    with pytest.raises(DatasetError, match="no metadata.csv") as error:
        scan_ljspeech(root)
    assert_one_line(error, root, *layout)


def test_missing_vctk_layout_is_a_clear_error(tmp_path):
    layout = ("wav48_silence_trimmed/<speaker>/<speaker>_<nnn>_mic1.flac", "wav48/<speaker>/",
              "VCTK 0.92", "VCTK 0.80", "10.7488/ds/2645")
    with pytest.raises(DatasetError, match="not a folder") as error:
        scan_vctk(tmp_path / "nowhere")
    assert_one_line(error, *layout)
    (tmp_path / "VCTK-Corpus-0.92.zip").write_bytes(b"PK")
    with pytest.raises(DatasetError, match="VCTK-Corpus-0.92.zip is there but not unpacked") as error:
        scan_vctk(tmp_path)
    assert_one_line(error, *layout)
    (tmp_path / "wav48_silence_trimmed" / "p225").mkdir(parents=True)
    with pytest.raises(DatasetError, match="no \\*_mic1.flac files") as error:
        scan_vctk(tmp_path)
    assert_one_line(error, *layout)


def test_unknown_kind_and_too_many_test_utterances(lj_root, tmp_path):
    with pytest.raises(DatasetError, match="ljspeech, vctk, folder"):
        prepare_corpus("timit", lj_root, tmp_path, sample_rate=16000, test_utterances=1)
    with pytest.raises(DatasetError, match="at most 4"):
        prepare_corpus("ljspeech", lj_root, tmp_path, sample_rate=16000, test_utterances=5)
    with pytest.raises(DatasetError, match="no finished corpus cache"):
        CorpusManifest.load(tmp_path)


def test_corrupt_file_is_named_and_leaves_no_cache(tmp_path):
    root = tmp_path / "corpus"
    root.mkdir()
    sf.write(str(root / "good.wav"), tone(0.1, 16000), 16000)
    (root / "broken.wav").write_bytes(b"RIFF\x00\x00garbage")
    with pytest.raises(DatasetError, match="broken.wav") as error:
        prepare_corpus("folder", root, tmp_path / "cache", sample_rate=16000, test_utterances=0)
    assert_one_line(error, root / "broken.wav")
    assert not (tmp_path / "cache" / "manifest.json").exists()
    assert not list((tmp_path / "cache").glob("*.npy*"))


# ---------------------------------------------------------------- prepare_corpus and the manifest

def test_prepare_packs_resampled_mono_audio(vctk, vctk_root):
    assert vctk.sample_rate == 16000 and vctk.kind == "vctk"
    assert vctk.speakers == ["p225", "p226", "p227"]
    assert vctk.names() == [f"{s}_{i:03d}" for s in vctk.speakers for i in (1, 2, 3)]
    packed = np.load(vctk.cache_dir / "audio.npy", mmap_mode="r")
    assert packed.dtype == np.int16 and packed.shape == (sum(u.length for u in vctk.utterances),)
    for u in vctk.utterances:
        source, _ = sf.read(str(vctk_root / "wav48_silence_trimmed" / u.speaker / f"{u.name}_mic1.flac"),
                            dtype="float32")
        expected = resample(source, 48000, 16000).numpy()
        assert u.length == math.ceil(source.size / 3) == expected.size
        audio = vctk.audio(u.name)
        assert audio.dtype == np.float32 and np.abs(audio).max() <= 1
        assert np.abs(audio - expected).max() <= 1 / 32768
        assert u.text == (vctk_root / "txt" / u.speaker / f"{u.name}.txt").read_text().strip()
    assert np.array_equal(vctk.audio(4), vctk.audio(vctk.utterances[4].name))
    record = json.loads((vctk.cache_dir / "manifest.json").read_text())
    assert record["speakers"] == vctk.speakers and record["sample_rate"] == 16000
    assert set(record["utterances"][0]) == {"name", "speaker", "text", "offset", "length", "split"}
    assert CorpusManifest.load(vctk.cache_dir).utterances == vctk.utterances


def test_folder_corpus_mixes_channels_down(tmp_path):
    root = tmp_path / "corpus"
    (root / "spk").mkdir(parents=True)
    stereo = tone(0.2, 8000, channels=2)
    sf.write(str(root / "spk" / "stereo.wav"), stereo, 8000, subtype="FLOAT")
    sf.write(str(root / "mono.wav"), tone(0.1, 8000), 8000, subtype="FLOAT")
    manifest = prepare_corpus("folder", root, tmp_path / "cache", sample_rate=16000, test_utterances=0)
    assert manifest.names() == ["mono", "spk/stereo"] and manifest.speakers == ["corpus", "spk"]
    expected = resample(stereo.mean(axis=1).astype(np.float32), 8000, 16000).numpy()
    assert np.abs(manifest.audio("spk/stereo") - expected).max() <= 1 / 32768


def test_test_split_is_seeded_disjoint_and_leaves_every_speaker_training_data(vctk, vctk_root, tmp_path):
    train, test = vctk.names("train"), vctk.names("test")
    assert len(test) == 4 and len(train) == 5 and not set(train) & set(test)
    assert sorted(train + test) == vctk.names()
    by_split = {split: [vctk.utterance(n).speaker for n in vctk.names(split)] for split in ("train", "test")}
    assert set(by_split["train"]) == set(vctk.speakers)
    assert max(by_split["test"].count(s) for s in vctk.speakers) == 2      # spread over speakers
    tests = {seed: prepare_corpus("vctk", vctk_root, tmp_path / f"seed{seed}", sample_rate=16000,
                                  test_utterances=4, seed=seed).names("test") for seed in (5, 6, 7)}
    assert tests[5] == test and (tests[6] != test or tests[7] != test)


def test_prepare_reuses_its_cache_without_reading_audio(vctk, vctk_root, monkeypatch):
    files = [vctk.cache_dir / "audio.npy", vctk.cache_dir / "manifest.json"]
    before = {p: p.stat().st_mtime_ns for p in files}

    def unreadable(path, *args, **kwargs):
        raise AssertionError(f"{path} was read again")

    monkeypatch.setattr(packed_audio, "read_audio", unreadable)
    monkeypatch.setattr(corpora, "audio_info", unreadable)
    again = prepare_corpus("vctk", vctk_root, vctk.cache_dir, sample_rate=16000, test_utterances=4, seed=5)
    assert {p: p.stat().st_mtime_ns for p in files} == before
    assert again.utterances == vctk.utterances


def test_prepare_rebuilds_for_new_arguments_sources_or_a_damaged_cache(lj_root, tmp_path):
    root, seen = shutil.copytree(lj_root, tmp_path / "LJSpeech-1.1"), []

    def progress(items):
        seen.extend(items)
        return items

    def prepare(test_utterances):
        return prepare_corpus("ljspeech", root, tmp_path / "cache", sample_rate=11025,
                              test_utterances=test_utterances, progress=progress)

    first = prepare(1)
    assert len(seen) == 5 and first.speakers == ["LJ"] and len(first.names("test")) == 1
    assert first.utterances[0].text == (lj_root / "metadata.csv").read_text().split("\n")[0].split("|")[2]
    second = prepare(2)
    assert len(seen) == 10 and len(second.names("test")) == 2
    with open(tmp_path / "cache" / "audio.npy", "r+b") as packed:
        packed.truncate(1000)
    third = prepare(2)
    assert len(seen) == 15 and np.array_equal(third.audio(0), second.audio(0))
    source, rate = sf.read(str(root / "wavs" / "LJ001-0001.wav"), dtype="int16")
    sf.write(str(root / "wavs" / "LJ001-0001.wav"), source[:rate // 4], rate, subtype="PCM_16")
    fourth = prepare(2)
    assert len(seen) == 20 and fourth.utterances[0].length == math.ceil(rate // 4 * 11025 / rate)


def test_unknown_speaker_lists_known_ones(vctk):
    assert [vctk.speaker_index(s) for s in ("p225", "p226", "p227")] == [0, 1, 2]
    with pytest.raises(DatasetError, match="unknown speaker 'p999'.*3 speaker.*p225, p226, p227"):
        vctk.speaker_index("p999")


# ---------------------------------------------------------------- training crops

def test_crops_tile_each_utterance_and_end_with_it(vctk):
    crop, hop = 4000, 1500
    dataset = WaveformCrops(vctk, "train", crop_length=crop, hop=hop)
    train = vctk.indices("train")
    lengths = [vctk.utterances[i].length for i in train]
    assert min(lengths) > crop
    assert len(dataset) == sum(1 + math.ceil((n - crop) / hop) for n in lengths)
    starts: dict[int, list[int]] = {}
    for i in range(len(dataset)):
        audio, speaker = dataset[i]
        assert audio.shape == (crop,) and audio.dtype == torch.float32
        assert speaker.dtype == torch.int64 and speaker.shape == ()
        utterance, start = dataset.locate(i)
        u = vctk.utterances[utterance]
        assert int(speaker) == vctk.speaker_index(u.speaker) and u.split == "train"
        assert np.array_equal(audio.numpy(), vctk.audio(utterance)[start:start + crop])
        starts.setdefault(utterance, []).append(start)
    assert sorted(starts) == train
    for utterance, found in starts.items():
        length = vctk.utterances[utterance].length
        assert found[:-1] == list(range(0, hop * (len(found) - 1), hop)) and found[-1] == length - crop
    again = WaveformCrops(vctk, "train", crop_length=crop, hop=hop)
    assert all(torch.equal(again[i][0], dataset[i][0]) for i in (0, len(dataset) // 2, len(dataset) - 1))


def test_short_utterances_are_padded_at_the_front_and_crops_pickle(vctk):
    crop = 20000                              # longer than every tiny test utterance
    dataset = WaveformCrops(vctk, "test", crop_length=crop, hop=5000)
    assert len(dataset) == len(vctk.names("test")) == 4
    for i in range(len(dataset)):
        audio, speaker = dataset[i]
        utterance, start = dataset.locate(i)
        length = vctk.utterances[utterance].length
        assert start == length - crop < 0
        assert not audio[:crop - length].any()
        assert np.array_equal(audio[crop - length:].numpy(), vctk.audio(utterance))
    blob = pickle.dumps(dataset)
    assert len(blob) < 20_000
    restored = pickle.loads(blob)
    assert torch.equal(restored[3][0], dataset[3][0]) and torch.equal(restored[3][1], dataset[3][1])
    with pytest.raises(ValueError, match="split"):
        WaveformCrops(vctk, "dev", crop_length=crop, hop=5000)
