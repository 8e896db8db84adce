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
generator batches (:class:`_Runner`).
"""

from __future__ import annotations

import logging
import math
from contextlib import contextmanager
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.signal
import soundfile as sf
import torch

from wavegen.audio.io import AUDIO_EXTENSIONS, audio_info, find_audio_files, resample
from wavegen.core.files import atomic_output
from wavegen.errors import AudioFileError, WavegenError

log = logging.getLogger(__name__)

# Called with (seconds of input audio done, seconds in total).
ProgressCallback = Callable[[float, float], None]

_FORMATS = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG"}
# Encodings kept from an input of the same container; anything else (an MP3 stream, ADPCM...)
# gets the output format's default, so every output can be written.
_KEPT_SUBTYPES = {"PCM_S8", "PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE", "VORBIS", "OPUS"}
DC_BLOCK_HZ = 20.0     # cut-off of the DC blocker after de-emphasis
# auto: bfloat16 on CPUs that multiply it natively (AVX512-BF16, AMX), else float32.
PRECISIONS = ("auto", "float32", "bfloat16")


@dataclass(frozen=True)
class Tiling:
    """How a signal is cut into the generator's windows and joined again, in fractions of a window.

    Each window's first and last ``trim`` are thrown away (the generator's output is worst
    at its window's edges, where its convolutions see zero padding), and consecutive windows
    overlap by ``fade`` more, over which one fades out as the next fades in (``shape``:
    ``hann``, raised cosine, or ``linear``; the two weights always sum to one). The
    generator runs window / (window - 2 trim - fade) times per sample: 2 for half-overlapping
    windows, 1.14 for the default.
    """
    trim: float = 1 / 32
    fade: float = 1 / 16
    shape: str = "hann"

    def __post_init__(self):
        if self.shape not in ("hann", "linear"):
            raise WavegenError(f"tiling shape must be 'hann' or 'linear', got {self.shape!r}")
        if not (0 <= self.trim and 0 <= self.fade and 2 * (self.trim + self.fade) <= 1 and 2 * self.trim < 1):
            raise WavegenError(f"tiling trim={self.trim}, fade={self.fade}: need trim, fade >= 0 and "
                               f"trim + fade at most half a window (a window's kept part holds two fades)")

    def samples(self, window: int) -> tuple[int, int]:
        """(trim, fade) in samples for a window length."""
        trim, fade = round(self.trim * window), round(self.fade * window)
        if window - 2 * trim - fade < max(fade, 1):
            raise WavegenError(f"tiling trim={self.trim}, fade={self.fade} leaves no hop in a {window}-sample window")
        return trim, fade

    def fade_in(self, length: int) -> torch.Tensor:
        """Weights rising from 0 over ``length`` samples; ``1 - w`` is their mirror image, ``w.flip(0)``."""
        x = (torch.arange(length) + 0.5) / max(length, 1)
        return torch.sin(0.5 * math.pi * x) ** 2 if self.shape == "hann" else x


DEFAULT_TILING = Tiling()
# The procedure before: half-overlapping windows, all of each faded with a periodic Hann window.
HALF_OVERLAP = Tiling(trim=0.0, fade=0.5)


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
    ``float32`` or ``bfloat16``.
    """
    check_enhancement_model(model)
    input_path, output_path = Path(input_path), Path(output_path)
    _refuse_overwrite(output_path, [input_path], overwrite)
    runner = _Runner(model, device, batch_size, precision)
    job = _file_job(model, input_path, output_path, seed=seed, block_seconds=block_seconds, progress=progress,
                    tiling=tiling)
    outcome = runner.drive([job])[0]
    if isinstance(outcome, WavegenError):
        raise outcome
    return outcome


def enhance_files(model, inputs: Iterable[str | Path], output_dir: str | Path, *,
                  device: str | torch.device = "cpu", batch_size: int = 16, seed: int = 0,
                  block_seconds: float = 30.0, progress: ProgressCallback | None = None,
                  overwrite: bool = False, tiling: Tiling = DEFAULT_TILING,
                  precision: str = "auto") -> list[EnhanceResult]:
    """Enhance files and folders (recursively: .wav .flac .ogg) into ``output_dir``.

    A file given directly is written as ``output_dir/<name>``, a file found in
    a given folder as ``output_dir/<path relative to that folder>``; a name
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
    output_dir = Path(output_dir)
    if output_dir.exists() and not output_dir.is_dir():
        raise WavegenError(f"{output_dir}: is a file, not a folder (give a folder for the enhanced files)")
    jobs: list[tuple[Path, Path | None, WavegenError | None]] = []
    for item in map(Path, inputs):
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
    runner = _Runner(model, device, batch_size, precision)
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
        stream = _EnhanceStream(model, sample_rate, channels.shape[0], seed=seed, tiling=tiling)
        return torch.cat([(yield from stream.push(channels)), (yield from stream.flush())], dim=1)

    out = _Runner(model, device, batch_size, precision).drive([job()])[0]
    if isinstance(out, WavegenError):
        raise out
    return out[:, :channels.shape[1]].reshape(audio.shape)


def check_enhancement_model(model) -> None:
    """A clear error for a model that is not a speech-enhancement model (e.g. a WaveNet checkpoint)."""
    if not hasattr(model, "enhance_windows"):
        name = getattr(model, "registry_name", type(model).__name__)
        raise WavegenError(f"a {name} model is not a speech-enhancement model; enhancement needs a SEGAN "
                           f"checkpoint (e.g. exp/segan-demo/model.safetensors)")


def _output_name(path: Path) -> Path:
    return path if path.suffix.lower() in _FORMATS else path.with_name(path.name + ".wav")


# ---------------------------------------------------------------- one file

def _file_job(model, input_path: Path, output_path: Path, *, seed, block_seconds, progress, tiling):
    """Enhance one file, as a job for :meth:`_Runner.drive`: yields windows, is sent them enhanced.

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
    stream = _EnhanceStream(model, info.samplerate, info.channels, seed=seed, tiling=tiling)

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


# ---------------------------------------------------------------- the streaming pipeline

class _EnhanceStream:
    """input rate -> model rate -> pre-emphasis -> windows through G -> de-emphasis -> input rate.

    ``push`` takes (C, n) input samples and returns the output samples that are
    final so far; ``flush`` returns the rest. Together they equal the whole-file
    procedure, with up to a window of look-ahead plus the resamplers' reach. Both
    are generators (``out = yield from stream.push(block)``): they yield the
    windows the generator must enhance with their latents, ``(C*k, 1, W)`` and
    ``(C*k, latent, W / decimation)``, and are sent back the enhanced windows, so that a
    :class:`_Runner` can batch windows of many streams together.
    """

    def __init__(self, model, rate: int, channels: int, *, seed: int, tiling: Tiling):
        self.model = model
        self.window, self.coef = model.window, model.preemph
        self.to_model_rate = _StreamingResampler(rate, model.sample_rate, channels)
        self.to_input_rate = _StreamingResampler(model.sample_rate, rate, channels)
        self.last_noisy = torch.zeros(channels, 1)        # pre-emphasis state (model rate)
        r = 1.0 - 2 * math.pi * DC_BLOCK_HZ / model.sample_rate      # DC-blocker pole
        self.filter_b = np.array([1.0, -1.0])
        self.filter_a = np.convolve([1.0, -self.coef], [1.0, -r])
        self.filter_state = np.zeros((channels, 2))                  # de-emphasis + DC blocker
        self.trim, self.fade_length = tiling.samples(self.window)
        self.hop = self.window - 2 * self.trim - self.fade_length
        self.fade_in = tiling.fade_in(self.fade_length)               # fade_in + its mirror = 1
        # Pre-emphasised samples from the next window's start on. The stream starts with zeros
        # up to the end of the first window's trimmed edge and fade-in, so the first real
        # sample already has its full weight.
        self.pending = torch.zeros(channels, self.trim + self.fade_length)
        self.tail = torch.zeros(channels, self.fade_length)  # the previous window's faded-out end
        self.lead = self.fade_length                       # outputs still to drop (they cover the padding)
        # One latent stream per channel, drawn window by window, so z never depends on blocking.
        self.latent_rngs = [torch.Generator().manual_seed(int(np.random.SeedSequence([seed, c]).generate_state(1)[0]))
                            for c in range(channels)]

    def push(self, block: torch.Tensor):
        self._add_noisy(self.to_model_rate.push(block))                # (C, n16)
        return self.to_input_rate.push(self._deemphasise((yield from self._overlap_add())))

    def flush(self):
        self._add_noisy(self.to_model_rate.flush())
        n = self.pending.shape[1]
        remaining = n - self.trim - self.lead                         # real samples not yet output
        windows = -(-(n - self.trim) // self.hop)                      # each outputs hop samples
        # Zeros up to the end of the last window that still outputs a real sample.
        self.pending = torch.nn.functional.pad(self.pending, (0, max(0, (windows - 1) * self.hop + self.window - n)))
        enhanced = (yield from self._overlap_add())[:, :max(remaining, 0)]
        return torch.cat([self.to_input_rate.push(self._deemphasise(enhanced)),
                          self.to_input_rate.flush()], dim=1)

    def _overlap_add(self) -> torch.Tensor:
        """Run every complete window of ``pending`` (hop apart) and return the samples now final.

        Window j outputs its samples [trim, trim + hop): the first ``fade_length`` of them
        faded in over the previous window's faded-out samples [trim + hop, window - trim).
        """
        C, n = self.pending.shape
        k = (n - self.window) // self.hop + 1 if n >= self.window else 0
        if k == 0:
            return self.pending[:, :0]
        windows = self.pending[:, :(k - 1) * self.hop + self.window].unfold(1, self.window, self.hop)  # (C, k, W)
        # One latent per window, from each channel's own stream, so z never depends on blocking.
        z = torch.stack([torch.randn(self.model.generator.latent_shape(self.window), generator=rng)
                         for rng in self.latent_rngs for _ in range(k)])         # (C*k, latent, W / decimation)
        kept = (yield windows.reshape(C * k, 1, self.window), z).reshape(C, k, self.window)
        kept = kept[:, :, self.trim:self.window - self.trim]                       # (C, k, hop + fade)
        f = self.fade_length
        faded_in = kept[:, :, :f] * self.fade_in
        faded_out = kept[:, :, self.hop:] * self.fade_in.flip(0)
        previous = torch.cat([self.tail[:, None], faded_out[:, :-1]], dim=1)        # (C, k, fade)
        out = torch.cat([previous + faded_in, kept[:, :, f:self.hop]], dim=2).reshape(C, k * self.hop)
        self.tail = faded_out[:, -1]
        self.pending = self.pending[:, k * self.hop:]
        drop, self.lead = min(self.lead, out.shape[1]), self.lead - min(self.lead, out.shape[1])
        return out[:, drop:]

    def _add_noisy(self, noisy: torch.Tensor) -> None:
        # y[t] = x[t] - coef * x[t-1], continuing from the previous block's last sample.
        previous = torch.cat([self.last_noisy, noisy[:, :-1]], dim=1)
        if noisy.shape[1]:
            self.last_noisy = noisy[:, -1:]
        self.pending = torch.cat([self.pending, noisy - self.coef * previous], dim=1)

    def _deemphasise(self, y: torch.Tensor) -> torch.Tensor:
        """De-emphasis followed by a DC blocker, as one IIR filter whose state runs across blocks.

        De-emphasis 1/(1 - coef z⁻¹) has a gain of 1/(1 - coef) = 20 at 0 Hz, so the
        slightest offset in the generator's output would come out as a large DC
        offset and drift. The DC blocker (1 - z⁻¹)/(1 - r z⁻¹) removes what lies
        below ``DC_BLOCK_HZ``, where speech has nothing.
        """
        if y.shape[1] == 0:
            return y
        x, self.filter_state = scipy.signal.lfilter(self.filter_b, self.filter_a, y.double().numpy(),
                                                    axis=1, zi=self.filter_state)
        return torch.from_numpy(x).float()

class _Runner:
    """Runs enhancement jobs side by side, batching the windows they ask for across jobs.

    A job is a generator that yields ``(windows, z)`` and is sent the enhanced windows
    (see :class:`_EnhanceStream`). Short files ask for a few windows each, and on a
    CPU a window costs three to four times as much alone as in a batch of 16, so
    :meth:`drive` keeps starting jobs until the windows asked for fill a batch, and
    runs them through the generator together.
    """

    def __init__(self, model, device, batch_size: int, precision: str):
        from wavegen.audio.segan.model import WindowEnhancer
        from wavegen.core.trainer import cpu_has_native_bf16
        if precision not in PRECISIONS:
            raise WavegenError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        self.device, self.batch_size = torch.device(device), batch_size
        if precision == "auto":
            precision = "bfloat16" if self.device.type == "cpu" and cpu_has_native_bf16() else "float32"
        self.enhance = WindowEnhancer(model.to(self.device), precision)

    def drive(self, jobs: Iterable) -> list:
        """Run every job to its end; its return value, or the WavegenError that ended it, in job order."""
        jobs = iter(jobs)
        outcomes: list = []
        active: list[tuple[int, object, tuple]] = []           # (index, job, its request)

        def advance(index, job, value=None, start=False):
            try:
                active.append((index, job, next(job) if start else job.send(value)))
            except StopIteration as stop:
                outcomes[index] = stop.value
            except WavegenError as exc:
                outcomes[index] = exc

        while True:
            while sum(request[0].shape[0] for _, _, request in active) < self.batch_size:
                job = next(jobs, None)
                if job is None:
                    break
                outcomes.append(None)
                advance(len(outcomes) - 1, job, start=True)
            if not active:
                return outcomes
            windows = torch.cat([request[0] for _, _, request in active])
            z = torch.cat([request[1] for _, _, request in active])
            enhanced = self._run(windows, z).split([request[0].shape[0] for _, _, request in active])
            waiting, active[:] = list(active), []
            for (index, job, _), out in zip(waiting, enhanced):
                advance(index, job, out)

    def _run(self, windows: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        # Batches of about batch_size, split evenly: 33 windows at 16 run as 17 + 16, not 16 + 16 + 1
        # (a lone window costs three to four times its share of a batch of 16 on a CPU).
        count = max(1, round(windows.shape[0] / self.batch_size))
        out = torch.empty_like(windows)
        for batch in torch.arange(windows.shape[0]).tensor_split(count):
            batch = slice(int(batch[0]), int(batch[-1]) + 1)
            out[batch] = self.enhance(windows[batch].to(self.device), z[batch].to(self.device)).cpu()
        return out


class _StreamingResampler:
    """``torchaudio.functional.resample`` of a long signal, fed and returned in pieces.

    torchaudio computes the output in groups of ``new`` samples (rates divided
    by their gcd); group j reads input [j*orig - width, (j+1)*orig + width).
    A group is returned once its input has all arrived, computed on a piece
    that starts ``context`` samples (a multiple of ``orig``, >= width) before
    it, so its numbers are those of the whole-signal call.
    """

    def __init__(self, orig_rate: int, new_rate: int, channels: int):
        g = math.gcd(orig_rate, new_rate)
        self.orig_rate, self.new_rate = orig_rate, new_rate
        self.orig, self.new = orig_rate // g, new_rate // g
        # torchaudio's sinc half-width (lowpass_filter_width 6, rolloff 0.99), plus a safety margin.
        self.width = math.ceil(6 * self.orig / (0.99 * min(self.orig, self.new))) + 2
        self.context = math.ceil(self.width / self.orig) * self.orig
        self.buffer = torch.zeros(channels, 0)    # input from sample index self.buffer_start
        self.buffer_start = 0
        self.received = 0
        self.groups_done = 0

    def push(self, x: torch.Tensor) -> torch.Tensor:
        if self.orig_rate == self.new_rate:
            return x
        self.buffer = torch.cat([self.buffer, x], dim=1)
        self.received += x.shape[1]
        ready = max(0, (self.received - self.width) // self.orig)     # groups whose input is complete
        return self._emit(ready, final=False)

    def flush(self) -> torch.Tensor:
        if self.orig_rate == self.new_rate or self.received == 0:
            return self.buffer[:, :0]
        return self._emit(None, final=True)

    def _emit(self, ready: int | None, final: bool) -> torch.Tensor:
        if not final and ready <= self.groups_done:
            return self.buffer[:, :0]
        first = self.groups_done * self.orig                          # input index of the first group
        piece_start = max(0, first - self.context)
        piece = self.buffer[:, piece_start - self.buffer_start:]
        out = resample(piece, self.orig_rate, self.new_rate)          # (C, ceil(len * new / orig))
        skip = (first - piece_start) // self.orig * self.new
        if final:
            out = out[:, skip:]
        else:
            out = out[:, skip:skip + (ready - self.groups_done) * self.new]
            self.groups_done = ready
            keep_from = max(0, ready * self.orig - self.context)
            self.buffer = self.buffer[:, keep_from - self.buffer_start:]
            self.buffer_start = keep_from
        return out


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
    existing = [out for out in outputs if out.exists()]
    if existing and not overwrite:
        raise WavegenError(f"{existing[0]} already exists ({len(existing)} of {len(outputs)} outputs); "
                           f"use --overwrite to replace, or another output folder")


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
