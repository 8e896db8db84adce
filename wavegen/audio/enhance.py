"""Enhance recordings with a SEGAN generator, streaming files of any length.

The procedure follows the SEGAN paper's test procedure (Pascual et al.,
Interspeech 2017, section 4): resample to the model's rate, pre-emphasise, cut
into windows, run the generator, join, de-emphasise, and remove the DC that
de-emphasis amplifies from any offset in the generator output. One change: the
windows are not butted together. The generator's output degrades near its
window edges (zero padding inside the U-Net), and butted windows put that seam
into the signal every window, which costs intelligibility. Each window's edges
are trimmed and consecutive windows cross-fade over a short stretch
(:class:`Tiling`; benchmarks/RESULTS.md measures quality against trim, fade
length and shape). Each channel is enhanced on its own, and the result is
resampled back to the input's rate and cropped to the input's length.

Files are read and written in blocks, so memory does not grow with length.
Every stage is written so that its streamed output equals what it would give
on the whole signal at once: the filters carry their state from block to
block, windows stay aligned with the start of the file (which is padded so
that its first sample lies past the first window's trimmed edge and fade-in),
each window's latent z depends only on (seed, channel, window index), and the
resamplers keep enough context at block edges to reproduce torchaudio's
whole-signal result. There are no seams, and block size changes nothing but
rounding. Several files are enhanced side by side so that their windows share
generator batches (:class:`~wavegen.audio.enhance_stream.WindowRunner`).
"""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from wavegen.audio.capabilities import Enhancer
# The tiling and precision names are part of this module's API too.
from wavegen.audio.enhance_stream import (DC_BLOCK_HZ, DEFAULT_TILING, HALF_OVERLAP, PRECISIONS,
                                          EnhanceStream, Tiling, WindowRunner)
from wavegen.audio.io import AUDIO_EXTENSIONS, audio_info, find_audio_files
from wavegen.core.capabilities import require
from wavegen.core.files import atomic_output, refuse_existing
from wavegen.errors import AudioFileError, WavegenError

log = logging.getLogger(__name__)

# Called with (seconds of input audio done, seconds in total).
ProgressCallback = Callable[[float, float], None]

_FORMATS = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG"}
# Encodings kept from an input of the same container; anything else (an MP3 stream, ADPCM...)
# gets the output format's default, so every output can be written.
_KEPT_SUBTYPES = {"PCM_S8", "PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE", "VORBIS", "OPUS"}

@dataclass(frozen=True)
class EnhanceResult:
    """What happened to one input of :func:`enhance_files`: an output file or an error."""
    input: Path
    output: Path | None = None
    error: WavegenError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def enhance_file(model, input_path: str | Path, output_path: str | Path, *, device: str | torch.device = "cpu",
                 batch_size: int = 16, seed: int = 0, block_seconds: float = 30.0,
                 progress: ProgressCallback | None = None, overwrite: bool = False,
                 tiling: Tiling = DEFAULT_TILING, precision: str = "auto") -> Path:
    """Enhance one audio file into ``output_path`` (same rate, channels and length as the input).

    ``model`` is a :class:`~wavegen.audio.segan.SEGAN` (moved to ``device``).
    The output's format follows its suffix (.wav, .flac, .ogg) and keeps the
    input's sample encoding when the input is of the same format and that
    encoding can be written (otherwise the format's default, e.g. 16-bit PCM).
    It is written to a temporary file and renamed into place, so it either
    appears complete or not at all. Raises :class:`AudioFileError` for an
    unreadable input and :class:`WavegenError` for a model that does not
    enhance speech, an output that would overwrite the input, or an existing
    output without ``overwrite``. ``tiling`` says how windows are cut and
    joined (:class:`Tiling`); ``precision`` is the generator's arithmetic:
    ``auto`` (bfloat16 on CPUs that compute it natively, float32 elsewhere),
    ``float32`` or ``bfloat16``. A ``model`` that is not a loaded model (a
    path, say) or a path that is neither a str nor a :class:`~pathlib.Path`
    raises a one-line :class:`TypeError`; a folder as input, a
    :class:`WavegenError` (:func:`enhance_files` takes folders).
    """
    check_enhancement_model(model)
    input_path, output_path = as_path(input_path, "input_path"), as_path(output_path, "output_path")
    if input_path.is_dir():
        raise WavegenError(f"{input_path}: is a folder; enhance_files enhances the files in a folder")
    _refuse_overwrite(output_path, [input_path], overwrite)
    runner = WindowRunner(model, device, batch_size, precision)
    job = _file_job(model, input_path, output_path, seed=seed, block_seconds=block_seconds, progress=progress,
                    tiling=tiling)
    outcome = runner.drive([job])[0]
    if isinstance(outcome, WavegenError):
        raise outcome
    return outcome


def enhance_files(model, inputs: str | Path | Iterable[str | Path], output_dir: str | Path, *,
                  device: str | torch.device = "cpu", batch_size: int = 16, seed: int = 0,
                  block_seconds: float = 30.0, progress: ProgressCallback | None = None,
                  overwrite: bool = False, tiling: Tiling = DEFAULT_TILING,
                  precision: str = "auto") -> list[EnhanceResult]:
    """Enhance files and folders (recursively: .wav .flac .ogg) into ``output_dir``.

    ``inputs`` is one path (a str or :class:`~pathlib.Path`: a file or a
    folder) or an iterable of them; anything else (bytes, a number, a list
    holding something other than paths) raises a one-line :class:`TypeError`
    before any work. A file given directly is written as ``output_dir/<name>``,
    a file found in a given folder as ``output_dir/<path relative to that folder>``; a name
    whose suffix is not a format we write (e.g. .mp3) gets ``.wav``. A file
    that cannot be read or written gets an error in its result and the others
    are still processed. Raises :class:`WavegenError`, before writing anything,
    when the model does not enhance speech, ``output_dir`` is a file, an output
    would overwrite an input, two inputs would share an output, or an output
    already exists and ``overwrite`` is not set. ``progress`` is told the
    seconds of audio done over all files. Several files are enhanced side by
    side, their windows sharing generator batches; a file's output does not
    depend on which others share them (in float32; bfloat16 rounds differently
    for different batch shapes). ``tiling`` and ``precision`` as for
    :func:`enhance_file`.
    """
    check_enhancement_model(model)
    inputs, output_dir = as_inputs(inputs), as_path(output_dir, "output_dir")
    if output_dir.exists() and not output_dir.is_dir():
        raise WavegenError(f"{output_dir}: is a file, not a folder (give a folder for the enhanced files)")
    jobs: list[tuple[Path, Path | None, WavegenError | None]] = []
    for item in inputs:
        if item.is_dir():
            for path in find_audio_files([item]):
                jobs.append((path, _output_name(output_dir / path.relative_to(item)), None))
        elif item.exists():
            jobs.append((item, _output_name(output_dir / item.name), None))
        else:
            jobs.append((item, None, AudioFileError(item, "no such file or folder")))

    planned = [out for _, out, _ in jobs if out is not None]
    _refuse_overwrite_all(planned, [path for path, _, _ in jobs], overwrite)

    durations = [_duration_or_zero(path) if error is None else 0.0 for path, _, error in jobs]
    total = sum(durations)
    done = [0.0] * len(jobs)                    # seconds done per file: files run side by side

    def file_progress(i):
        def report(file_done, _file_total):
            done[i] = file_done
            if progress is not None:
                progress(sum(done), total)
        return report

    runnable = [i for i, (_, _, error) in enumerate(jobs) if error is None]
    runner = WindowRunner(model, device, batch_size, precision)
    outcomes = runner.drive(_file_job(model, jobs[i][0], jobs[i][1], seed=seed, block_seconds=block_seconds,
                                      progress=file_progress(i), tiling=tiling) for i in runnable)
    errors = {i: outcome for i, outcome in zip(runnable, outcomes) if isinstance(outcome, WavegenError)}
    results = []
    for i, (path, out, error) in enumerate(jobs):
        error = error or errors.get(i)
        if error is not None:
            log.info("skipped %s", error)   # reported to the caller in the results
        results.append(EnhanceResult(path, out if error is None else None, error))
    if progress is not None:
        progress(total, total)
    return results


def enhance_waveform(model, audio: np.ndarray | torch.Tensor, sample_rate: int, *,
                     device: str | torch.device = "cpu", batch_size: int = 16, seed: int = 0,
                     tiling: Tiling = DEFAULT_TILING, precision: str = "auto") -> torch.Tensor:
    """Enhance ``(C, n)`` or ``(n,)`` audio in memory: exactly what :func:`enhance_file` writes, unclipped."""
    audio = torch.as_tensor(audio, dtype=torch.float32)
    channels = audio.reshape(-1, audio.shape[-1])

    def job():
        stream = EnhanceStream(model, sample_rate, channels.shape[0], seed=seed, tiling=tiling)
        return torch.cat([(yield from stream.push(channels)), (yield from stream.flush())], dim=1)

    out = WindowRunner(model, device, batch_size, precision).drive([job()])[0]
    if isinstance(out, WavegenError):
        raise out
    return out[:, :channels.shape[1]].reshape(audio.shape)


def check_enhancement_model(model) -> None:
    """A clear error for a model that is not a speech-enhancement model (e.g. a WaveNet checkpoint).

    A path given for the model, or anything but a model, is a one-line :class:`TypeError`.
    """
    if isinstance(model, (str, bytes, os.PathLike)):
        raise TypeError(f"model: got the path {os.fsdecode(model)!r}, not a model; load it first with "
                        f"wavegen.load({os.fsdecode(model)!r})")
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model: expected a model from wavegen.load, got {type(model).__name__}")
    require(model, Enhancer, "enhancement needs a speech enhancer such as a SEGAN checkpoint")


def as_path(value, name: str) -> Path:
    """``value`` (a str or :class:`os.PathLike`) as a Path; a one-line :class:`TypeError` naming ``name`` otherwise."""
    if isinstance(value, (str, os.PathLike)):
        path = os.fspath(value)
        if isinstance(path, str):
            return Path(path)
    raise TypeError(f"{name}: expected a path (a str or pathlib.Path), got {type(value).__name__}")


def as_inputs(inputs) -> list[Path]:
    """:func:`enhance_files`' ``inputs``: one path (a file or a folder) or an iterable of paths, as a list."""
    if isinstance(inputs, (str, os.PathLike)):
        return [as_path(inputs, "inputs")]
    if isinstance(inputs, (bytes, bytearray)) or not isinstance(inputs, Iterable):
        raise TypeError(f"inputs: expected a path or a list of paths (str or pathlib.Path), "
                        f"got {type(inputs).__name__}")
    return [as_path(item, f"inputs[{i}]") for i, item in enumerate(inputs)]


def _output_name(path: Path) -> Path:
    return path if path.suffix.lower() in _FORMATS else path.with_name(path.name + ".wav")


# ---------------------------------------------------------------- one file

def _file_job(model, input_path: Path, output_path: Path, *, seed, block_seconds, progress, tiling):
    """Enhance one file, as a job for :meth:`WindowRunner.drive`: yields windows, is sent them enhanced.

    Returns the output path; a :class:`WavegenError` ends the job (no output is left behind).
    """
    info = audio_info(input_path)
    fmt = _FORMATS.get(output_path.suffix.lower())
    if fmt is None:
        raise WavegenError(f"{output_path}: unsupported output format {output_path.suffix!r} "
                           f"(use one of {', '.join(AUDIO_EXTENSIONS)})")
    keep = info.format == fmt and info.subtype in _KEPT_SUBTYPES and sf.check_format(fmt, info.subtype)
    subtype = info.subtype if keep else None
    clip = subtype is None or subtype not in ("FLOAT", "DOUBLE")   # integer encodings would wrap
    block_frames = max(1, int(block_seconds * info.samplerate))
    stream = EnhanceStream(model, info.samplerate, info.channels, seed=seed, tiling=tiling)

    with atomic_output(output_path) as tmp, _named_write_errors(output_path):
        with sf.SoundFile(str(tmp), "w", samplerate=info.samplerate, channels=info.channels,
                          format=fmt, subtype=subtype) as writer:
            frames_in = frames_out = 0

            def write(enhanced: torch.Tensor) -> None:       # (C, n), cropped to the input's length
                nonlocal frames_out
                enhanced = enhanced[:, :max(0, frames_in - frames_out)].numpy()
                if clip:
                    enhanced = np.clip(enhanced, -1.0, 1.0)
                writer.write(enhanced.T)
                frames_out += enhanced.shape[1]

            for block in _read_blocks(input_path, block_frames):
                frames_in += block.shape[1]
                write((yield from stream.push(torch.from_numpy(block))))
                if progress is not None:
                    progress(frames_in / info.samplerate, info.frames / info.samplerate)
            if frames_in == 0:
                raise AudioFileError(input_path, "audio file has no samples")
            write((yield from stream.flush()))
        if frames_out != frames_in:
            raise AssertionError(f"wrote {frames_out} frames for {frames_in}")
    log.info("enhanced %s -> %s (%.1f s)", input_path, output_path, frames_in / info.samplerate)
    return output_path


@contextmanager
def _named_write_errors(path: Path):
    """An encoder's or the disk's refusal, as an error naming the output (the batch goes on)."""
    try:
        yield
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        message = str(exc).strip().splitlines()
        raise AudioFileError(path, f"could not write the output ({message[0] if message else exc!r})") from None


def _read_blocks(path: Path, block_frames: int):
    """Yield float32 (C, n) blocks; decoding errors become AudioFileError naming the file."""
    try:
        with sf.SoundFile(str(path)) as reader:
            while True:
                block = reader.read(block_frames, dtype="float32", always_2d=True)   # (n, C)
                if block.shape[0] == 0:
                    return
                yield np.ascontiguousarray(block.T)
    except (RuntimeError, sf.LibsndfileError, ValueError, TypeError) as exc:
        message = str(exc).strip().splitlines()
        raise AudioFileError(path, f"could not decode audio ({message[0] if message else exc!r})") from None


# ---------------------------------------------------------------- paths

def _refuse_overwrite(output: Path, inputs: list[Path], overwrite: bool) -> None:
    _refuse_overwrite_all([output], inputs, overwrite)


def _refuse_overwrite_all(outputs: list[Path], inputs: list[Path], overwrite: bool) -> None:
    # Compare resolved paths, and (device, inode) to catch hard links to an input as well.
    resolved_inputs = {p.resolve() for p in inputs}
    input_ids = {_file_id(p) for p in inputs} - {None}
    seen: set[Path] = set()
    for out in outputs:
        target = out.resolve()
        if target in resolved_inputs or _file_id(target) in input_ids:
            raise WavegenError(f"{out}: refusing to overwrite an input file; choose another output")
        if target in seen:
            raise WavegenError(f"{out}: two inputs would be written to this same output")
        if target.is_dir():
            raise WavegenError(f"{out}: a folder is in the way of this output")
        seen.add(target)
    refuse_existing(outputs, overwrite, instead="or another output folder")


def _file_id(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _duration_or_zero(path: Path) -> float:
    try:
        info = audio_info(path)
    except WavegenError:
        return 0.0
    return info.frames / info.samplerate
