"""Where a run computes and from which random state: device names, the CPU's bfloat16 support, seeds."""

from __future__ import annotations

import torch

from wavegen.core import distributed as dist
from wavegen.errors import WavegenError


def resolve_device(name: str) -> torch.device:
    """``cpu``, ``cuda`` (``cuda:N``) or ``auto`` (CUDA when available)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise WavegenError(f"--device {name}: CUDA is not available on this machine (use cpu or auto)")
        if name == "cuda" and dist.launched_by_torchrun():
            return torch.device("cuda", dist.local_rank())
        return torch.device(name)
    if name == "cpu":
        return torch.device("cpu")
    raise WavegenError(f"--device {name!r}: expected cpu, cuda or auto")


def cpu_has_native_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (AMX or AVX512-BF16).

    There, bf16 autocast makes convolution training about twice as fast; on
    other CPUs it would emulate bf16 and be slower, so training stays in fp32.
    """
    checks = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


def seed_everything(seed: int) -> None:
    """Seed torch (CPU and CUDA) before building a model, so initial weights are reproducible."""
    torch.manual_seed(seed)


def step_seed(seed: int, step: int, rank: int) -> int:
    """The random seed of one training step in one process (distinct for every triple)."""
    return (seed * 1_000_003 + step * 7_919 + rank * 104_729 + 0x5EED) % (2**63 - 1)
