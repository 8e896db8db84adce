"""WaveNet weights and sampling state laid out for the fused loops.

Every matrix is stored (inputs, outputs) so that a row of activations times
the matrix is one contiguous sweep over output channels. Layer l's dilated
conv is one (2R, G) matrix applied to [h_{t-d}, h_t]; its residual and skip
1×1 convs are one (G/2, R+S) matrix. The queues of all layers share one
(B, Σd, R) buffer, layer l owning rows offsets[l] … offsets[l] + d_l - 1 as a
ring indexed by t mod d_l.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from wavegen.errors import WavegenError


@dataclass
class PackedWaveNet:
    embed: torch.Tensor          # (2, C, R): input conv taps for x_{t-2} and x_{t-1} (one-hot inputs)
    input_bias: torch.Tensor     # (R,)
    dilated: torch.Tensor        # (L, 2R, G)
    dilated_bias: torch.Tensor   # (L, G)
    res_skip: torch.Tensor       # (L, G/2, R + S); the last layer's residual part is zero
    res_skip_bias: torch.Tensor  # (L, R + S)
    out1: torch.Tensor           # (S, A)
    out1_bias: torch.Tensor      # (A,)
    out2: torch.Tensor           # (A, C)
    out2_bias: torch.Tensor      # (C,)
    dilations: torch.Tensor      # (L,) int32
    offsets: torch.Tensor        # (L,) int32: first queue row of each layer

    @property
    def sizes(self) -> tuple[int, int, int, int, int, int]:
        """(L, R, G, S, A, C)."""
        L, _, G = self.dilated.shape
        return L, self.embed.shape[2], G, self.out1.shape[0], self.out1.shape[1], self.out2.shape[1]

    @property
    def queue_rows(self) -> int:
        return int(self.dilations.sum())

    def to(self, device) -> PackedWaveNet:
        return PackedWaveNet(**{k: v.to(device) for k, v in self.__dict__.items()})

    def numpy(self) -> dict[str, np.ndarray]:
        return {k: np.ascontiguousarray(v.detach().cpu().numpy()) for k, v in self.__dict__.items()}


def pack(model) -> PackedWaveNet:
    """Lay out a categorical-output :class:`WaveNet`'s weights for the fused loops."""
    if not model.output.discrete:
        raise WavegenError("the fused sampling paths support WaveNets with a categorical (mu-law) output; "
                           "use --path cached for a logistic-mixture WaveNet")
    with torch.no_grad():
        L, R, G = model.layers, model.residual_channels, model.gate_channels
        S = model.skip[0].out_channels
        w_in = model.input_conv.weight.float()                                     # (R, C, 2)
        dilated = torch.stack([torch.cat([c.weight[:, :, 0].T, c.weight[:, :, 1].T]) for c in model.dilated])
        res_skip = torch.zeros(L, G // 2, R + S)
        res_skip_bias = torch.zeros(L, R + S)
        for layer in range(L):
            if layer < L - 1:
                res_skip[layer, :, :R] = model.residual[layer].weight[:, :, 0].T
                res_skip_bias[layer, :R] = model.residual[layer].bias
            res_skip[layer, :, R:] = model.skip[layer].weight[:, :, 0].T
            res_skip_bias[layer, R:] = model.skip[layer].bias
        _, conv1, _, conv2 = model.output_stack
        dilations = torch.tensor(model.dilations, dtype=torch.int32)
        packed = PackedWaveNet(
            embed=w_in.permute(2, 1, 0).contiguous(), input_bias=model.input_conv.bias.detach().clone(),
            dilated=dilated.contiguous(), dilated_bias=torch.stack([c.bias for c in model.dilated]),
            res_skip=res_skip, res_skip_bias=res_skip_bias,
            out1=conv1.weight[:, :, 0].T.contiguous(), out1_bias=conv1.bias.detach().clone(),
            out2=conv2.weight[:, :, 0].T.contiguous(), out2_bias=conv2.bias.detach().clone(),
            dilations=dilations, offsets=torch.cumsum(dilations, 0, dtype=torch.int32) - dilations)
    return PackedWaveNet(**{k: v.detach().float().contiguous() if v.is_floating_point() else v.contiguous()
                            for k, v in packed.__dict__.items()})


def layer_conditioning(cond: torch.Tensor | None, layers: int, gate: int, batch: int) -> torch.Tensor:
    """The model's (B, L, G, T|1) conditioning as the loops read it: (L, B|1, T|1, G), contiguous fp32."""
    if cond is None:
        return torch.zeros(layers, 1, 1, gate)
    return cond.detach().float().permute(1, 0, 3, 2).contiguous()


def fused_chunk_steps(batch: int, cond, layers: int, gate: int, *, max_steps: int | None = 4096,
                      budget_bytes: int = 1 << 26) -> int | None:
    """Steps per fused call, or None for all of them in one call.

    Without local (mel) conditioning nothing grows with time, so a call may run
    every step; ``max_steps`` caps it anyway where progress reports are wanted.
    With it, a call's gate biases (B·L·G fp32 per step) stay within ``budget_bytes``.
    """
    if cond is None or cond.length is None:
        return max_steps
    steps = max(16, budget_bytes // (4 * batch * layers * gate))
    return steps if max_steps is None else min(max_steps, steps)


def conditioning_chunks(cond, batch: int, steps: int, layers: int, gate: int, **limits):
    """(start, stop, gate biases (L, B|1, n|1, G)) for each fused call over ``steps`` steps.

    ``cond`` is the model's ``Conditioning`` or None; ``limits`` go to :func:`fused_chunk_steps`.
    """
    chunk = fused_chunk_steps(batch, cond, layers, gate, **limits) or steps
    for start in range(0, steps, chunk):
        stop = min(steps, start + chunk)
        yield start, stop, layer_conditioning(None if cond is None else cond.chunk(start, stop), layers, gate, batch)
