"""The streaming pipeline behind :mod:`wavegen.audio.enhance`: windows in, enhanced windows out.

:class:`Tiling` says how a signal is cut into the generator's windows and joined again;
:class:`EnhanceStream` takes one signal block by block through resampling, pre-emphasis,
tiling, de-emphasis and back, yielding the windows it needs enhanced; :class:`WindowRunner`
runs many streams side by side and batches their windows through the generator.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import scipy.signal
import torch

from wavegen.audio.io import resample
from wavegen.core.device import cpu_has_native_bf16
from wavegen.errors import WavegenError

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

class EnhanceStream:
    """input rate -> model rate -> pre-emphasis -> windows through G -> de-emphasis -> input rate.

    ``push`` takes (C, n) input samples and returns the output samples that are
    final so far; ``flush`` returns the rest. Together they equal the whole-file
    procedure, with up to a window of look-ahead plus the resamplers' reach. Both
    are generators (``out = yield from stream.push(block)``): they yield the
    windows the generator must enhance with their latents, ``(C*k, 1, W)`` and
    ``(C*k, latent, W / decimation)``, and are sent back the enhanced windows, so that a
    :class:`WindowRunner` can batch windows of many streams together.
    """

    def __init__(self, model, rate: int, channels: int, *, seed: int, tiling: Tiling):
        self.model = model
        self.window, self.coef = model.window, model.preemph
        self.to_model_rate = StreamingResampler(rate, model.sample_rate, channels)
        self.to_input_rate = StreamingResampler(model.sample_rate, rate, channels)
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

class WindowRunner:
    """Runs enhancement jobs side by side, batching the windows they ask for across jobs.

    A job is a generator that yields ``(windows, z)`` and is sent the enhanced windows
    (see :class:`EnhanceStream`). Short files ask for a few windows each, and on a
    CPU a window costs three to four times as much alone as in a batch of 16, so
    :meth:`drive` keeps starting jobs until the windows asked for fill a batch, and
    runs them through the generator together.
    """

    def __init__(self, model, device, batch_size: int, precision: str):
        if precision not in PRECISIONS:
            raise WavegenError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        self.device, self.batch_size = torch.device(device), batch_size
        if precision == "auto":
            precision = "bfloat16" if self.device.type == "cpu" and cpu_has_native_bf16() else "float32"
        self.enhance = model.to(self.device).window_enhancer(precision)

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


class StreamingResampler:
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
