"""Signal-level features shared by audio models."""

from __future__ import annotations

import torch


def preemphasis(x: torch.Tensor, coef: float = 0.95) -> torch.Tensor:
    """y[t] = x[t] - coef * x[t-1] along the last axis (y[0] = x[0])."""
    if coef == 0:
        return x
    return torch.cat([x[..., :1], x[..., 1:] - coef * x[..., :-1]], dim=-1)


def deemphasis(y: torch.Tensor, coef: float = 0.95) -> torch.Tensor:
    """Inverse of :func:`preemphasis`: x[t] = y[t] + coef * x[t-1]."""
    if coef == 0:
        return y
    # An IIR filter with one pole; torchaudio's lfilter runs it without a Python loop.
    import torchaudio.functional as AF
    a = torch.tensor([1.0, -coef], dtype=y.dtype, device=y.device)
    b = torch.tensor([1.0, 0.0], dtype=y.dtype, device=y.device)
    return AF.lfilter(y, a, b, clamp=False)
