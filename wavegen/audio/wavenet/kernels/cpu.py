"""The fused CPU sampling loop (``wavenet_cpu.c``), called through ctypes.

The C library is compiled by the package's install step (setup.py). One call
generates a chunk of time steps for the whole batch, updating the queues and
the last two inputs in place, so a long sequence can be generated in chunks
(to bound the memory of precomputed conditioning) with the same result.
"""

from __future__ import annotations

import ctypes
import importlib.machinery
import os
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from wavegen.audio.wavenet.kernels.packing import PackedWaveNet
from wavegen.errors import WavegenError

_FLOAT_P = ctypes.POINTER(ctypes.c_float)
_INT32_P = ctypes.POINTER(ctypes.c_int32)
_INT64_P = ctypes.POINTER(ctypes.c_int64)


class _Args(ctypes.Structure):
    _fields_ = ([(name, ctypes.c_int32) for name in (
        "layers", "residual", "gate", "skip", "hidden", "classes",
        "batch", "steps", "t0", "cond_batch", "cond_steps", "queue_rows", "threads")]
        + [("temperature", ctypes.c_float)]
        + [(name, _FLOAT_P) for name in ("embed", "input_bias", "dilated", "dilated_bias", "res_skip",
                                         "res_skip_bias", "out1", "out1_bias", "out2", "out2_bias")]
        + [("dilations", _INT32_P), ("offsets", _INT32_P), ("cond", _FLOAT_P), ("draws", _FLOAT_P),
           ("queues", _FLOAT_P), ("last_inputs", _INT64_P), ("samples", _INT64_P)])


@lru_cache(maxsize=1)
def _library() -> ctypes.CDLL:
    folder = Path(__file__).parent
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = folder / f"_wavenet_cpu{suffix}"
        if path.exists():
            lib = ctypes.CDLL(str(path))
            lib.wavenet_sample.argtypes = [ctypes.POINTER(_Args)]
            lib.wavenet_sample.restype = ctypes.c_int
            return lib
    raise WavegenError("the fused CPU kernel is not built: reinstall wavegen on a machine with a C compiler "
                       "(`make install`, or `pip install -e .`), or use --path cached")


def available() -> bool:
    try:
        _library()
    except WavegenError:
        return False
    return True


class CpuSampler:
    """Holds the packed weights and the sampling state of one batch between chunks."""

    def __init__(self, packed: PackedWaveNet, batch: int, threads: int | None = None):
        self.lib = _library()
        self.weights = packed.numpy()
        self.L, self.R, self.G, self.S, self.A, self.C = packed.sizes
        self.batch = batch
        self.threads = threads or torch.get_num_threads() or os.cpu_count() or 1
        self.queues = np.zeros((batch, packed.queue_rows, self.R), dtype=np.float32)
        self.last_inputs = np.full((batch, 2), self.C // 2, dtype=np.int64)
        self.t = 0

    def run(self, draws: np.ndarray, cond: np.ndarray, temperature: float) -> np.ndarray:
        """draws (B, n) uniforms; cond (L, B|1, n|1, G) -> (B, n) int64 samples for steps t … t+n-1."""
        draws = np.ascontiguousarray(draws, dtype=np.float32)
        cond = np.ascontiguousarray(cond, dtype=np.float32)
        batch, steps = draws.shape
        samples = np.empty((batch, steps), dtype=np.int64)
        w = self.weights
        args = _Args(self.L, self.R, self.G, self.S, self.A, self.C, batch, steps, self.t, cond.shape[1],
                     cond.shape[2], self.queues.shape[1], self.threads, temperature,
                     *(_ptr(w[k], _FLOAT_P) for k in ("embed", "input_bias", "dilated", "dilated_bias", "res_skip",
                                                      "res_skip_bias", "out1", "out1_bias", "out2", "out2_bias")),
                     _ptr(w["dilations"], _INT32_P), _ptr(w["offsets"], _INT32_P), _ptr(cond, _FLOAT_P),
                     _ptr(draws, _FLOAT_P), _ptr(self.queues, _FLOAT_P), _ptr(self.last_inputs, _INT64_P),
                     _ptr(samples, _INT64_P))
        if self.lib.wavenet_sample(ctypes.byref(args)):
            raise WavegenError("the fused CPU kernel could not allocate memory or start its threads")
        self.t += steps
        return samples


def _ptr(array: np.ndarray, kind):
    assert array.flags.c_contiguous
    return array.ctypes.data_as(kind)
