"""Atomic output: data and rename flushed to disk, and the temporaries of killed writers cleared safely."""

import os
import signal
import subprocess
import sys

import pytest

import wavegen.core.files as files
from wavegen.core.files import MARKER, atomic_output, temporary_name, write_text_atomic

needs_posix = pytest.mark.skipif(os.name == "nt", reason="processes are checked with os.kill(pid, 0)")


def dead_pid():
    """The id of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def hidden_files(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_the_data_and_the_rename_are_flushed_to_disk(tmp_path, monkeypatch):
    synced, real_fsync = [], os.fsync

    def recording_fsync(fd):
        synced.append(os.path.realpath(f"/proc/self/fd/{fd}") if os.path.isdir("/proc/self/fd") else fd)
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    replaced = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda a, b: (replaced.append((len(synced), str(a))), real_replace(a, b))[1])
    write_text_atomic(tmp_path / "out.json", "{}\n")
    monkeypatch.undo()
    assert (tmp_path / "out.json").read_text() == "{}\n"
    (before, temporary), = replaced
    assert before == 1 and len(synced) == 2          # the file before the rename, the folder after it
    if os.path.isdir("/proc/self/fd"):
        assert synced == [os.path.realpath(temporary), os.path.realpath(tmp_path)]


def test_the_temporary_names_its_target_the_marker_host_and_writer(tmp_path):
    with atomic_output(tmp_path / "take.one.wav") as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".wav"
        assert tmp.name.startswith(".take.one.") and f".{MARKER}-" in tmp.name
        assert f"-{os.getpid()}-" in tmp.name
        assert not files.is_stale_temporary(tmp.name)              # ours, and we are running
        tmp.write_bytes(b"x")
    assert hidden_files(tmp_path) == []
    assert len(temporary_name(tmp_path / ("n" * 250 + ".wav"))) < 255


@needs_posix
def test_a_killed_writers_temporary_is_removed_by_the_next_write(tmp_path):
    target = tmp_path / "clip.wav"
    killed = subprocess.run([sys.executable, "-c", (
        "import os, signal, sys\n"
        "from wavegen.core.files import atomic_output\n"
        "with atomic_output(sys.argv[1]) as tmp:\n"
        "    tmp.write_bytes(b'half a file')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"), str(target)])
    assert killed.returncode == -signal.SIGKILL
    leftover, = hidden_files(tmp_path)
    assert MARKER in leftover and not target.exists()
    write_text_atomic(target, "whole")
    assert hidden_files(tmp_path) == [] and target.read_text() == "whole"


@needs_posix
def test_only_wavegen_temporaries_of_gone_writers_on_this_host_are_removed(tmp_path):
    host = files._host_tag()
    gone, other_host = dead_pid(), "0" * 8 if host != "0" * 8 else "1" * 8
    stale = f".clip.{MARKER}-{host}-{gone}-0123abcd.wav"
    kept = [
        f".clip.{MARKER}-{host}-{os.getpid()}-89abcdef.wav",     # a live writer: this very process
        f".clip.{MARKER}-{other_host}-{gone}-0123abcd.wav",      # another machine's: its process cannot be told
        f".clip.{MARKER}-{host}-{gone}-0123abcd.wav.bak",        # not exactly our form
        f".clip.{MARKER}-{host}-{gone}-XYZ.wav",
        ".clip.wav", ".something.wav", ".clip.a1b2c3d4.wav",     # a user's hidden files, an old-style temporary
    ]
    for name in [stale, *kept]:
        (tmp_path / name).write_bytes(b"mine")
    (tmp_path / f".other.{MARKER}-{host}-{gone}-0123abcd").mkdir()   # a folder of that name is not ours
    with open(tmp_path / kept[0], "rb"):                             # open, being written
        write_text_atomic(tmp_path / "clip.wav", "new")
    assert hidden_files(tmp_path) == sorted([*kept, f".other.{MARKER}-{host}-{gone}-0123abcd"])
    assert all((tmp_path / name).read_bytes() == b"mine" for name in kept)


@needs_posix
def test_a_folder_is_listed_again_only_when_someone_else_changed_it(tmp_path, monkeypatch):
    write_text_atomic(tmp_path / "a.txt", "1")
    listed = []
    real_scandir = os.scandir
    monkeypatch.setattr(os, "scandir", lambda folder: (listed.append(folder), real_scandir(folder))[1])
    for i in range(3):
        write_text_atomic(tmp_path / "b.txt", str(i))
    assert listed == []                                  # nothing changed there but our own writes
    stale = tmp_path / f".b.{MARKER}-{files._host_tag()}-{dead_pid()}-0123abcd.txt"
    stale.write_text("half")                             # another process, killed mid-write a moment later:
    later = os.stat(tmp_path).st_mtime_ns + 10_000_000   # (file times move in ticks of a few ms)
    os.utime(tmp_path, ns=(later, later))
    write_text_atomic(tmp_path / "b.txt", "3")
    assert listed == [tmp_path] and not stale.exists()


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    (tmp_path / "keep.txt").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_output(tmp_path / "keep.txt") as tmp:
            tmp.write_text("new, half")
            raise RuntimeError
    assert (tmp_path / "keep.txt").read_text() == "old" and hidden_files(tmp_path) == []
