"""Generating audio from a WaveNet along one of three paths that agree draw for draw.

* ``reference`` — recompute the network over the receptive field for every
  sample (what a naive implementation does; the ground truth for the others).
* ``cached`` — Paine et al. 2016, "Fast WaveNet generation": each layer keeps
  a queue of its past inputs, so a step costs one column of every layer.
* ``fused`` — the whole loop (all layers, all steps, softmax and draw) in one
  compiled call: ``kernels/cpu.py`` on the CPU, ``kernels/gpu.py`` (Triton) on CUDA.

All three take the same uniform draws (``wavegen.core.autoregressive.make_draws``)
and the same temperature, and return the same samples.
"""

from __future__ import annotations

from typing import Callable

import torch

from wavegen.audio.wavenet.kernels.cpu import CpuSampler
from wavegen.audio.wavenet.kernels.packing import conditioning_chunks, pack
from wavegen.audio.wavenet.model import Conditioning, WaveNet
from wavegen.core.autoregressive import check_temperature, sample_incremental
from wavegen.errors import WavegenError

PATHS = ("reference", "cached", "fused")


@torch.no_grad()
def generate(model: WaveNet, draws: torch.Tensor, *, speaker: torch.Tensor | None = None,
             mel: torch.Tensor | None = None, temperature: float = 1.0, path: str = "fused",
             progress: Callable[[int], None] | None = None) -> torch.Tensor:
    """Samples (B, T) from ``model`` for draws (B, T, draws_per_step), on the model's device.

    ``speaker`` (B,) speaker indices for a speaker-conditioned model; ``mel``
    (B, n_mels, frames) log-mel frames for a mel-conditioned one, covering at
    least T samples. ``progress(n)`` is told about every n steps finished.
    """
    temperature = check_temperature(temperature)
    if path not in PATHS:
        raise WavegenError(f"unknown sampling path {path!r}: expected one of {', '.join(PATHS)}")
    model.eval()
    device = model.input_conv.weight.device
    batch, steps, _ = draws.shape
    draws = draws.to(device)
    cond = model.conditioning(batch, _on(speaker, device), _on(mel, device))
    if cond is not None and cond.length is not None and cond.length < steps:
        raise WavegenError(f"the mel frames cover {cond.length} samples, fewer than the {steps} requested")
    if path == "reference":
        return _reference(model, draws, cond, temperature, progress)
    if path == "cached":
        return sample_incremental(model, draws, cond, temperature=temperature, progress=progress)
    if device.type == "cuda":
        from wavegen.audio.wavenet.kernels import gpu          # Triton is imported only where CUDA runs
        return gpu.generate(model, draws, cond, temperature, progress)
    return _fused_cpu(model, draws, cond, temperature, progress)


def _on(tensor: torch.Tensor | None, device: torch.device) -> torch.Tensor | None:
    return None if tensor is None else tensor.to(device)


def _reference(model: WaveNet, draws, cond: Conditioning | None, temperature: float, progress) -> torch.Tensor:
    batch, steps, _ = draws.shape
    dtype = torch.long if model.output.discrete else torch.float32
    history = torch.zeros(batch, steps, dtype=dtype, device=draws.device)
    for t in range(steps):
        params = model.reference_step(history, cond, t)
        history[:, t] = model.output.sample(params, draws[:, t], temperature)
        if progress is not None:
            progress(1)
    return history


def _fused_cpu(model: WaveNet, draws, cond: Conditioning | None, temperature: float, progress) -> torch.Tensor:
    packed = pack(model)
    batch, steps, _ = draws.shape
    L, _, G, *_ = packed.sizes
    sampler = CpuSampler(packed, batch)
    out = torch.empty(batch, steps, dtype=torch.long)
    uniforms = draws[..., 0].float().cpu().numpy()
    for start, stop, c in conditioning_chunks(cond, batch, steps, L, G):
        out[:, start:stop] = torch.from_numpy(sampler.run(uniforms[:, start:stop], c.cpu().numpy(), temperature))
        if progress is not None:
            progress(stop - start)
    return out
