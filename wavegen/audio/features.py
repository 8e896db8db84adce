"""Signal-level features shared by audio models."""

from __future__ import annotations

import torch


def preemphasis(x: torch.Tensor, coef: float = 0.95) -> torch.Tensor:
    """y[t] = x[t] - coef * x[t-1] along the last axis (y[0] = x[0])."""
    if coef == 0:
        return x
    return torch.cat([x[..., :1], x[..., 1:] - coef * x[..., :-1]], dim=-1)

