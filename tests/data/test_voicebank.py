"""VoiceBank-DEMAND reader and the synthetic demo corpus written in its layout."""

from __future__ import annotations

import json
import math
import pickle
import shutil

import numpy as np
import pytest
import soundfile as sf
import torch

import wavegen.data.voicebank as voicebank
from wavegen.audio.io import resample, write_audio
from wavegen.data import (VoiceBankManifest, VoiceBankWindows, load_voicebank_pairs, prepare_voicebank,
                          write_voicebank_demo)
from wavegen.data.demo import NOISE_KINDS, TEST_SNRS_DB, TRAIN_SNRS_DB
from wavegen.errors import DatasetError

from tests.speech_signals import f0_track, voiced_fraction

TINY = dict(train_speakers=2, train_utterances_per_speaker=3, test_speakers=2,
            test_utterances_per_speaker=2, seconds=(1.5, 2.2))
SMALLEST = dict(train_speakers=1, train_utterances_per_speaker=2, test_speakers=1,
                test_utterances_per_speaker=1, seconds=(0.5, 0.7))
FOLDERS_28 = ("clean_trainset_28spk_wav", "noisy_trainset_28spk_wav",
              "clean_testset_wav", "noisy_testset_wav")


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory):
    return write_voicebank_demo(tmp_path_factory.mktemp("demo") / "VoiceBank-DEMAND", seed=3, **TINY)


@pytest.fixture(scope="module")
def manifest(demo_root, tmp_path_factory):
    return prepare_voicebank(demo_root, tmp_path_factory.mktemp("cache"))


def wav_names(folder):
    return sorted(path.name for path in folder.glob("*.wav"))


def read_log(path):
    rows = (line.split() for line in path.read_text().splitlines())
    return {name: (kind, float(snr)) for name, kind, snr in rows}


# ---------------------------------------------------------------- demo corpus

def test_demo_has_the_voicebank_layout(demo_root):
    train = [f"{s}_{i:03d}.wav" for s in ("p226", "p227") for i in (1, 2, 3)]
    test = [f"{s}_{i:03d}.wav" for s in ("p232", "p257") for i in (1, 2)]
    for folder, names in zip(FOLDERS_28, (train, train, test, test)):
        assert wav_names(demo_root / folder) == names
        for name in names:
            info = sf.info(str(demo_root / folder / name))
            assert (info.samplerate, info.channels, info.subtype) == (48000, 1, "PCM_16")
            assert 1.5 * 48000 <= info.frames <= 2.2 * 48000 + 1
    for txt, names in (("trainset_28spk_txt", train), ("testset_txt", test)):
        transcripts = [n.replace(".wav", ".txt") for n in names]
        assert sorted(p.name for p in (demo_root / txt).glob("*.txt")) == transcripts
        assert all((demo_root / txt / n.replace(".wav", ".txt")).read_text().strip() for n in names)
    assert sorted(read_log(demo_root / "log_trainset_28spk.txt")) == [n[:-4] for n in train]
    assert sorted(read_log(demo_root / "log_testset.txt")) == [n[:-4] for n in test]


@pytest.mark.parametrize("split, allowed", [("trainset_28spk", TRAIN_SNRS_DB), ("testset", TEST_SNRS_DB)])
def test_demo_mixes_at_the_logged_snr(demo_root, split, allowed):
    for name, (kind, snr) in read_log(demo_root / f"log_{split}.txt").items():
        assert kind in NOISE_KINDS and snr in allowed
        clean, _ = sf.read(str(demo_root / f"clean_{split}_wav" / f"{name}.wav"))
        noisy, _ = sf.read(str(demo_root / f"noisy_{split}_wav" / f"{name}.wav"))
        measured = 10 * np.log10(np.sum(clean ** 2) / np.sum((noisy - clean) ** 2))
        assert measured == pytest.approx(snr, abs=0.05), name
        assert np.abs(noisy).max() < 1.0 and np.abs(clean).max() < 1.0


def test_demo_speech_is_voiced_and_band_limited_like_speech(demo_root):
    for path in sorted((demo_root / "clean_testset_wav").glob("*.wav")):
        clean, sr = sf.read(str(path))
        spectrum = np.abs(np.fft.rfft(clean)) ** 2
        freqs = np.fft.rfftfreq(clean.size, 1 / sr)
        assert spectrum[(freqs > 80) & (freqs < 4000)].sum() > 0.8 * spectrum.sum()
        clean16 = resample(clean, sr, 16000).numpy()
        voiced = f0_track(clean16, 16000)
        voiced = voiced[~np.isnan(voiced)]
        assert voiced_fraction(clean16, 16000) > 0.5, path.name
        assert np.mean((60 <= voiced) & (voiced <= 400)) > 0.9, path.name
        assert np.percentile(voiced, 90) > 1.1 * np.percentile(voiced, 10), path.name    # intonation


def test_demo_transcripts_fit_their_utterances_and_women_sound_higher(demo_root):
    medians = {}
    for path in sorted((demo_root / "clean_testset_wav").glob("*.wav")):
        clean, sr = sf.read(str(path))
        words = (demo_root / "testset_txt" / path.with_suffix(".txt").name).read_text().split()
        # 100-400 words a minute of speech, within an utterance that has ~0.1-1 s of silence.
        assert 0.15 * len(words) < clean.size / sr - 0.1 and clean.size / sr < 0.6 * len(words) + 1.2, path.name
        f0 = f0_track(resample(clean, sr, 16000).numpy(), 16000)
        medians.setdefault(path.name[:4], []).append(np.nanmedian(f0))
    assert min(medians["p257"]) > max(medians["p232"])        # p257 is a woman, p232 a man


def test_demo_is_deterministic_and_skips_when_complete(tmp_path):
    first = write_voicebank_demo(tmp_path / "a", seed=7, **SMALLEST)
    second = write_voicebank_demo(tmp_path / "b", seed=7, **SMALLEST)
    other = write_voicebank_demo(tmp_path / "c", seed=8, **SMALLEST)
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert len(files) > 8
    for rel in files:
        assert (first / rel).read_bytes() == (second / rel).read_bytes(), rel
    rel = "clean_trainset_28spk_wav/p226_001.wav"
    assert (first / rel).read_bytes() != (other / rel).read_bytes()

    mtimes = {rel: (first / rel).stat().st_mtime_ns for rel in files}
    write_voicebank_demo(first, seed=7, **SMALLEST)
    assert {rel: (first / rel).stat().st_mtime_ns for rel in files} == mtimes


def test_demo_regenerates_after_an_interrupted_run(tmp_path):
    root = write_voicebank_demo(tmp_path / "demo", seed=1, **SMALLEST)
    victim = root / "noisy_testset_wav" / "p232_001.wav"
    expected = victim.read_bytes()
    marker = root / ".wavegen_demo.json"
    marker.write_text(json.dumps({**json.loads(marker.read_text()), "complete": False}))
    victim.unlink()
    write_voicebank_demo(root, seed=1, **SMALLEST)
    assert victim.read_bytes() == expected
    assert json.loads(marker.read_text())["complete"] is True


def test_demo_refuses_to_overwrite_a_folder_it_did_not_write(tmp_path):
    (tmp_path / "clean_testset_wav").mkdir()
    with pytest.raises(DatasetError, match="refusing to overwrite"):
        write_voicebank_demo(tmp_path, **SMALLEST)


# ---------------------------------------------------------------- prepare_voicebank

def test_prepare_writes_a_16k_cache_and_manifest(demo_root, manifest):
    assert manifest.sample_rate == 16000 and manifest.trainset == "28spk"
    assert (manifest.cache_dir / "manifest.json").is_file()
    assert list(manifest.train_names) == wav_names(demo_root / FOLDERS_28[0])
    for folder, cached in zip(FOLDERS_28[2:], (manifest.test_clean_dir, manifest.test_noisy_dir)):
        assert wav_names(cached) == wav_names(demo_root / folder) == list(manifest.test_names)
        for name in manifest.test_names:
            info = sf.info(str(cached / name))
            assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
            assert info.frames == math.ceil(sf.info(str(demo_root / folder / name)).frames / 3)
    packed = np.load(manifest.train_noisy_path, mmap_mode="r")
    assert packed.dtype == np.int16 and packed.shape == (manifest.train_offsets[-1],)
    source, _ = sf.read(str(demo_root / FOLDERS_28[1] / manifest.train_names[1]), dtype="float32")
    expected = resample(source, 48000, 16000).numpy()
    cached = packed[manifest.train_offsets[1]:manifest.train_offsets[2]] / 32768
    assert cached.shape == expected.shape
    assert np.abs(cached - expected).max() <= 1 / 32768
    assert VoiceBankManifest.load(manifest.cache_dir).train_names == manifest.train_names


def test_prepare_reuses_its_cache(demo_root, manifest):
    cached_files = [p for p in manifest.cache_dir.rglob("*") if p.is_file()]
    before = {p: p.stat().st_mtime_ns for p in cached_files}
    again = prepare_voicebank(demo_root, manifest.cache_dir)
    assert {p: p.stat().st_mtime_ns for p in cached_files} == before
    assert again.train_names == manifest.train_names
    assert np.array_equal(again.train_offsets, manifest.train_offsets)


def test_prepare_rebuilds_when_the_corpus_changes_and_never_leaves_a_half_cache(demo_root, tmp_path,
                                                                                monkeypatch):
    root, cache = tmp_path / "corpus", tmp_path / "cache"
    shutil.copytree(demo_root, root)
    first = prepare_voicebank(root, cache)
    for folder in FOLDERS_28[:2]:
        (root / folder / "p227_003.wav").unlink()
    calls = {"n": 0}
    real_resample = voicebank.resample

    def failing_resample(*args):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("simulated crash")
        return real_resample(*args)

    monkeypatch.setattr(voicebank, "resample", failing_resample)
    with pytest.raises(RuntimeError, match="simulated crash"):
        prepare_voicebank(root, cache)
    assert not (cache / "manifest.json").exists()
    with pytest.raises(DatasetError, match="no finished VoiceBank-DEMAND cache"):
        VoiceBankManifest.load(cache)
    monkeypatch.setattr(voicebank, "resample", real_resample)
    seen = []

    def progress(items):
        seen.extend(items)
        return items

    rebuilt = prepare_voicebank(root, cache, progress=progress)
    assert len(seen) == len(rebuilt.train_names) + len(rebuilt.test_names)
    assert list(rebuilt.train_names) == [n for n in first.train_names if n != "p227_003.wav"]
    assert np.load(rebuilt.train_clean_path, mmap_mode="r").shape == (rebuilt.train_offsets[-1],)


def test_prepare_reads_the_56_speaker_variant(tmp_path):
    root = write_voicebank_demo(tmp_path / "corpus", trainset="56spk", **SMALLEST)
    assert (root / "clean_trainset_56spk_wav").is_dir() and not (root / "clean_trainset_28spk_wav").exists()
    manifest = prepare_voicebank(root, tmp_path / "cache", trainset="56spk")
    assert manifest.trainset == "56spk" and len(manifest.train_names) == 2
    with pytest.raises(DatasetError, match="trainset='56spk'"):
        prepare_voicebank(root, tmp_path / "cache28", trainset="28spk")


# ---------------------------------------------------------------- windows

def test_windows_cover_each_utterance_with_overlap(manifest):
    window, hop = 4096, 2048
    dataset = VoiceBankWindows(manifest, window=window, hop=hop)
    lengths = manifest.train_lengths
    assert len(dataset) == sum(1 + math.ceil(max(n - window, 0) / hop) for n in lengths)
    packed = np.load(manifest.train_clean_path, mmap_mode="r")
    items = [dataset[i] for i in range(len(dataset))]
    for i, (clean, noisy) in enumerate(items):
        assert clean.shape == noisy.shape == (window,) and clean.dtype == noisy.dtype == torch.float32
        assert clean.abs().max() <= 1 and noisy.abs().max() <= 1
        utterance, start = dataset.locate(i)
        begin = manifest.train_offsets[utterance] + start
        valid = min(window, lengths[utterance] - start)
        assert np.array_equal(clean[:valid].numpy() * 32768, packed[begin:begin + valid])
        assert not clean[valid:].any() and not noisy[valid:].any()       # zero padding at the end
        if i + 1 < len(dataset) and dataset.locate(i + 1)[0] == utterance:
            assert dataset.locate(i + 1)[1] == start + hop
            assert torch.equal(clean[hop:], items[i + 1][0][:window - hop])
            assert torch.equal(noisy[hop:], items[i + 1][1][:window - hop])
    assert {dataset.locate(i)[0] for i in range(len(dataset))} == set(range(len(lengths)))


def test_windows_pad_short_utterances_and_pickle_without_audio(manifest):
    assert (VoiceBankWindows(manifest).window, VoiceBankWindows(manifest).hop) == (16384, 8192)   # SEGAN
    dataset = VoiceBankWindows(manifest, window=32768, hop=16384)   # longer than every tiny utterance
    assert dataset.hop == 16384 and len(dataset) == len(manifest.train_names)
    clean, noisy = dataset[0]
    assert clean.shape == (32768,) and clean.any() and not clean[manifest.train_lengths[0]:].any()
    restored = pickle.loads(pickle.dumps(dataset))
    assert len(pickle.dumps(dataset)) < 10_000
    assert torch.equal(restored[0][1], noisy)
    held_out = VoiceBankWindows(manifest, utterances=[0, 2])
    assert {held_out.locate(i)[0] for i in range(len(held_out))} == {0, 2}


def test_load_voicebank_pairs(manifest):
    pairs = load_voicebank_pairs(manifest, "test", count=2)
    assert [name for name, *_ in pairs] == [manifest.test_names[0], manifest.test_names[-1]]
    for name, clean, noisy in pairs:
        assert clean.shape == noisy.shape and clean.dtype == torch.float32
    train = load_voicebank_pairs(manifest, "train")
    assert [clean.numel() for _, clean, _ in train] == list(manifest.train_lengths)


# ---------------------------------------------------------------- layout errors

def fake_corpus(root, folders=FOLDERS_28, names=("p226_001.wav", "p226_002.wav")):
    tone = 0.1 * np.sin(np.arange(4800) / 10)
    for folder in folders:
        for name in names:
            write_audio(root / folder / name, tone, 48000, subtype="PCM_16")
    return root


def assert_one_line_naming_the_layout(error, root):
    message = str(error.value)
    assert "\n" not in message and str(root) in message
    assert all(folder in message for folder in FOLDERS_28)
    assert "10.7488/ds/2117" in message


def test_missing_root_is_a_clear_error(tmp_path):
    with pytest.raises(DatasetError, match="not a folder") as error:
        prepare_voicebank(tmp_path / "nowhere", tmp_path / "cache")
    assert_one_line_naming_the_layout(error, tmp_path / "nowhere")
    assert not (tmp_path / "cache").exists()


def test_missing_or_empty_folder_is_a_clear_error(tmp_path):
    root = fake_corpus(tmp_path / "corpus", folders=FOLDERS_28[:3])
    with pytest.raises(DatasetError, match="missing noisy_testset_wav") as error:
        prepare_voicebank(root, tmp_path / "cache")
    assert_one_line_naming_the_layout(error, root)
    (root / "noisy_testset_wav").mkdir()
    with pytest.raises(DatasetError, match="noisy_testset_wav holds no .wav files") as error:
        prepare_voicebank(root, tmp_path / "cache")
    assert_one_line_naming_the_layout(error, root)


def test_mismatched_clean_and_noisy_names_are_a_clear_error(tmp_path):
    root = fake_corpus(tmp_path / "corpus")
    noisy = root / "noisy_trainset_28spk_wav"
    (noisy / "p226_002.wav").rename(noisy / "p226_003.wav")
    with pytest.raises(DatasetError, match="same file names") as error:
        prepare_voicebank(root, tmp_path / "cache")
    assert "p226_002.wav" in str(error.value) and "p226_003.wav" in str(error.value)
    assert_one_line_naming_the_layout(error, root)


def test_zipped_folder_gets_a_hint(tmp_path):
    root = fake_corpus(tmp_path / "corpus", folders=FOLDERS_28[1:])
    (root / "clean_trainset_28spk_wav.zip").write_bytes(b"PK")
    with pytest.raises(DatasetError, match="clean_trainset_28spk_wav.zip is there but not unpacked"):
        prepare_voicebank(root, tmp_path / "cache")
