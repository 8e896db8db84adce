"""The dataset cache every reader shares (wavegen.data.cache): manifest last, fingerprints, format version."""

from __future__ import annotations

import json
import logging
import os

import numpy as np
import pytest
import soundfile as sf

import wavegen.data.packed as packed_audio
from wavegen.data.cache import CACHE_VERSION, MANIFEST, array_output, fingerprint
from wavegen.data.corpora import CorpusManifest, prepare_corpus
from wavegen.data.images import ImageManifest
from wavegen.data.sc09 import SC09Manifest
from wavegen.data.voicebank import VoiceBankManifest
from wavegen.errors import DatasetError

from tests.support import assert_one_line

RATE = 8000


def write_tone(path, pitch, seconds=0.05):
    t = np.arange(int(seconds * RATE)) / RATE
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), 0.3 * np.sin(2 * np.pi * pitch * t), RATE, subtype="PCM_16")


@pytest.fixture
def corpus(tmp_path):
    root = tmp_path / "corpus"
    for speaker in ("a", "b"):
        for n in range(3):
            write_tone(root / speaker / f"{n}.wav", 200 + 50 * n)
    return root


class Preparer:
    """``prepare_corpus`` on a folder corpus, counting the files it reads."""

    def __init__(self, root, cache_dir):
        self.root, self.cache_dir, self.read = root, cache_dir, []

    def __call__(self):
        return prepare_corpus("folder", self.root, self.cache_dir, sample_rate=RATE, test_utterances=0,
                              progress=self._count)

    def _count(self, items):
        items = list(items)
        self.read.extend(items)
        return items


def test_the_manifest_is_written_after_the_arrays(corpus, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    real_read = packed_audio.read_audio

    def read_while_unfinished(path):
        assert not (cache / MANIFEST).exists(), "the manifest was there before the audio was packed"
        return real_read(path)

    monkeypatch.setattr(packed_audio, "read_audio", read_while_unfinished)
    manifest = Preparer(corpus, cache)()
    assert (cache / MANIFEST).stat().st_mtime_ns >= (cache / "audio.npy").stat().st_mtime_ns
    record = json.loads((cache / MANIFEST).read_text())
    assert record["format"] == "wavegen.corpus" and record["version"] == CACHE_VERSION
    assert CorpusManifest.load(cache).utterances == manifest.utterances


def test_a_cache_without_its_manifest_is_prepared_again(corpus, tmp_path):
    prepare = Preparer(corpus, tmp_path / "cache")
    first = prepare()
    assert len(prepare.read) == 6
    prepare()
    assert len(prepare.read) == 6                                      # finished: nothing read
    (tmp_path / "cache" / MANIFEST).unlink()                            # the arrays alone are not a cache
    with pytest.raises(DatasetError) as error:
        CorpusManifest.load(tmp_path / "cache")
    assert_one_line(error, "no finished corpus cache", tmp_path / "cache" / MANIFEST, "does not exist")
    again = prepare()
    assert len(prepare.read) == 12 and again.utterances == first.utterances


def test_an_interrupted_rebuild_leaves_no_finished_cache(corpus, tmp_path, monkeypatch):
    prepare = Preparer(corpus, tmp_path / "cache")
    prepare()
    write_tone(corpus / "a" / "3.wav", 440)                              # a new file: rebuild
    calls, real_read = [], packed_audio.read_audio

    def crash_on_the_third(path):
        calls.append(path)
        if len(calls) == 3:
            raise RuntimeError("simulated crash")
        return real_read(path)

    monkeypatch.setattr(packed_audio, "read_audio", crash_on_the_third)
    with pytest.raises(RuntimeError, match="simulated crash"):
        prepare()
    assert not (tmp_path / "cache" / MANIFEST).exists()
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["audio.npy"]       # no partial array
    with pytest.raises(DatasetError, match="no finished corpus cache"):
        CorpusManifest.load(tmp_path / "cache")
    monkeypatch.undo()
    assert len(prepare().utterances) == 7


def test_a_changed_source_file_changes_the_fingerprint_and_is_prepared_again(corpus, tmp_path):
    files = sorted(corpus.rglob("*.wav"))
    before = fingerprint({"rate": RATE}, corpus, files)
    assert fingerprint({"rate": RATE}, corpus, files) == before
    assert fingerprint({"rate": RATE + 1}, corpus, files) != before
    assert fingerprint({"rate": RATE}, corpus, files, ["x"] * len(files)) != before
    prepare = Preparer(corpus, tmp_path / "cache")
    first = prepare()
    old = {name: first.audio(name).copy() for name in ("a/1", "b/1")}

    # Same name and size, other samples (a later write: a later modification time).
    changed = corpus / "b" / "1.wav"
    stat = changed.stat()
    write_tone(changed, 600)
    os.utime(changed, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert changed.stat().st_size == stat.st_size
    assert fingerprint({"rate": RATE}, corpus, files) != before
    second = prepare()
    assert len(prepare.read) == 12
    assert not np.array_equal(second.audio("b/1"), old["b/1"])
    assert np.array_equal(second.audio("a/1"), old["a/1"])

    # Only the time changes: the file may have been rewritten, so it is read again.
    os.utime(changed, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))
    prepare()
    assert len(prepare.read) == 18


def test_a_manifest_of_another_format_version_is_refused_and_prepared_again(corpus, tmp_path, caplog):
    prepare = Preparer(corpus, tmp_path / "cache")
    prepare()
    path = tmp_path / "cache" / MANIFEST
    path.write_text(json.dumps({**json.loads(path.read_text()), "version": CACHE_VERSION - 1}))
    with pytest.raises(DatasetError) as error:
        CorpusManifest.load(tmp_path / "cache")
    assert_one_line(error, path, f"cache format version {CACHE_VERSION - 1}", f"reads version {CACHE_VERSION}",
                    "prepare it again")
    with caplog.at_level(logging.INFO, logger="wavegen.data.cache"):
        prepare()
    assert len(prepare.read) == 12
    assert any("again" in r.message and f"version {CACHE_VERSION - 1}" in r.message for r in caplog.records)
    assert json.loads(path.read_text())["version"] == CACHE_VERSION


@pytest.mark.parametrize("manifest_class", [CorpusManifest, SC09Manifest, VoiceBankManifest, ImageManifest])
def test_every_reader_refuses_an_old_or_foreign_manifest(manifest_class, tmp_path):
    path = tmp_path / MANIFEST
    path.write_text(json.dumps({"format": manifest_class.FORMAT, "version": 1, "fingerprint": "0"}))
    with pytest.raises(DatasetError) as error:
        manifest_class.load(tmp_path)
    assert_one_line(error, f"no finished {manifest_class.WHAT} cache", path, "version 1", "prepare")
    path.write_text(json.dumps({"format": "wavegen.other", "version": CACHE_VERSION, "fingerprint": "0"}))
    with pytest.raises(DatasetError) as error:
        manifest_class.load(tmp_path)
    assert_one_line(error, path, f"'wavegen.other' cache, not '{manifest_class.FORMAT}'")
    path.write_text('{"format": ')
    with pytest.raises(DatasetError) as error:
        manifest_class.load(tmp_path)
    assert_one_line(error, path, "not valid JSON")


def test_array_output_keeps_the_old_array_when_writing_fails(tmp_path):
    path = tmp_path / "audio.npy"
    np.save(path, np.arange(3, dtype=np.int16))
    with pytest.raises(RuntimeError):
        with array_output(path, (5,)) as array:
            array[:] = 7
            raise RuntimeError("interrupted")
    assert np.load(path).tolist() == [0, 1, 2] and list(tmp_path.iterdir()) == [path]
    with array_output(path, (2, 2)) as array:
        array[:] = 7
    assert np.load(path).tolist() == [[7, 7], [7, 7]]
