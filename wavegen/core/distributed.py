"""Data-parallel training across processes with torch.distributed (launched by ``torchrun``).

Every process holds a full copy of the models; each takes its own shard of
every batch, and gradients are averaged across processes before each
optimiser step, so all copies stay identical. Averaging by hand rather than
wrapping in DistributedDataParallel keeps one code path for families whose
step runs several forward/backward passes per update (a GAN's D and G steps).
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist
from torch import nn


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init_if_launched(device: torch.device) -> None:
    """Join the process group that torchrun set up (gloo on CPU, NCCL on CUDA)."""
    if launched_by_torchrun() and not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend)


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))


def average_gradients(module: nn.Module) -> None:
    """All-reduce (mean) the gradients of ``module``; a no-op in a single process."""
    if not is_distributed():
        return
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    flat /= world_size()
    offset = 0
    for g in grads:
        g.copy_(flat[offset:offset + g.numel()].view_as(g))
        offset += g.numel()


def broadcast_module(module: nn.Module) -> None:
    """Make every process start from rank 0's parameters and buffers."""
    if not is_distributed():
        return
    for t in list(module.parameters()) + list(module.buffers()):
        dist.broadcast(t.data, src=0)


def barrier() -> None:
    if is_distributed():
        dist.barrier()


def mean_across_processes(values: dict[str, float]) -> dict[str, float]:
    """Average logged scalars across processes (identity in a single process)."""
    if not is_distributed() or not values:
        return values
    keys = sorted(values)
    t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return {k: v / world_size() for k, v in zip(keys, t.tolist())}


def shutdown() -> None:
    """Leave the process group (after the last collective step); later work runs single-process."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
