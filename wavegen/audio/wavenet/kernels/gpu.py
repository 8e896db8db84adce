"""Fused WaveNet sampling on the GPU: one persistent Triton kernel launch per batch.

The idea — keep the whole autoregressive loop (every layer of every step,
the output stack, softmax and the draw) inside one long-running kernel, so a
sample costs no kernel launches and no round trip to the host — is NVIDIA's
nv-wavenet (persistent-kernel WaveNet inference, 2018). The code here is our
own and much simpler: there is no cross-block synchronisation; each program
owns ``BLOCK_B`` rows of the batch and runs all steps and layers for them,
because rows of a WaveNet batch never interact.

Per step t, for the rows of one program (``packing.py`` gives the layouts):

    h⁰  = E₀[x_{t-2}] + E₁[x_{t-1}] + b_in                 input conv on one-hot inputs
    for each layer l (dilation d, queue row offsets[l] + t mod d):
        h_{t-d} = queue[row];  queue[row] ← h_t             ring buffer in global memory
        z = [h_{t-d}, h_t] W_l + b_l + c_l,t                 split into filter / gate halves
        o_l = tanh(z_f) ⊙ σ(z_g)
        h ← h + o_l W_res,l
    skip = [o_0 … o_{L-1}] W_skip + Σ_l b_skip,l              every layer's skip conv as one product
    logits = W₂ ReLU(W₁ ReLU(skip))
    x_t = #{k : cdf_k ≤ u · cdf_{C-1}}  (clamped)           Categorical.sample's inverse-CDF rule

This is the arithmetic of ``wavenet_cpu.c`` and ``WaveNet.step`` in fp32,
summed in another order, so the samples agree draw for draw (a draw would
have to land within rounding error of a class boundary to differ; the tests
check they do not). h and the gates stay in registers; the skip sum and the
output stack go through a per-row scratch in global memory in 16 × 64 tiles,
so no tile outgrows the registers, whatever the channel counts. Matrix
products use ``tl.dot`` in IEEE fp32 when a program holds ≥ 16 rows and a
broadcast multiply-and-sum below that (``tl.dot`` needs 16-row tiles). Under
``TRITON_INTERPRET=1`` the same kernel runs on CPU tensors, which is how it
is tested on machines without a GPU.
"""

from __future__ import annotations

from typing import Callable

import torch

from wavegen.audio.wavenet.kernels.packing import conditioning_chunks, pack
from wavegen.errors import WavegenError

try:
    import triton
    import triton.language as tl
except ImportError:            # the CPU and cached paths work without Triton
    triton = tl = None


def _jit(fn):
    return fn if triton is None else triton.jit(fn)


def available() -> bool:
    return triton is not None


# --- the kernel ----------------------------------------------------------------------------
@_jit
def _matmul(x, w, USE_DOT: tl.constexpr):
    """x (BB, K) @ w (K, N) -> (BB, N) in fp32."""
    if USE_DOT:
        return tl.dot(x, w, input_precision="ieee")
    else:
        return tl.sum(x[:, :, None] * w[None, :, :], axis=1)


@_jit
def _dense(x_rows, x_ok, K, w, ld: tl.constexpr, n0, N: tl.constexpr,
           BLOCK_B: tl.constexpr, BLOCK_K: tl.constexpr, BLOCK_N: tl.constexpr, USE_DOT: tl.constexpr):
    """Columns n0 … n0+BLOCK_N-1 of x (BB, K) @ W (K, N), x read from scratch rows x_rows (BB, 1) pointers.

    K is swept in BLOCK_K slices so no tile outgrows the registers (or, for tl.dot, shared memory)
    whatever the channel counts.
    """
    k = tl.arange(0, BLOCK_K)
    n = n0 + tl.arange(0, BLOCK_N)
    acc = tl.zeros((BLOCK_B, BLOCK_N), dtype=tl.float32)
    k0 = 0
    while k0 < K:
        x = tl.load(x_rows + (k0 + k)[None, :], mask=x_ok & (k0 + k < K)[None, :], other=0.0)     # (BB, BK)
        wk = tl.load(w + (k0 + k)[:, None] * ld + n[None, :],
                     mask=(k0 + k < K)[:, None] & (n < N)[None, :], other=0.0)                    # (BK, BN)
        acc += _matmul(x, wk, USE_DOT)
        k0 += BLOCK_K
    return acc


@_jit
def _tanh(x):
    # No tanh in tl (libdevice's is not in the interpreter); this identity is exact to ~1e-7 absolute.
    return 2.0 * tl.sigmoid(2.0 * x) - 1.0


@_jit
def _sample_chunk(
    embed, input_bias, dilated, dilated_bias, res_skip, res_skip_bias, skip_bias,
    out1, out1_bias, out2, out2_bias, dilations, offsets,
    cond, draws, queues, last_inputs, scratch, samples,
    batch, layers, start, steps, queue_rows, temperature,
    draws_stride, samples_stride, cond_layer_stride, cond_batch_stride, cond_step_stride, scratch_stride,
    R: tl.constexpr, G: tl.constexpr, S: tl.constexpr, A: tl.constexpr, C: tl.constexpr,
    BLOCK_B: tl.constexpr, BLOCK_R: tl.constexpr, BLOCK_H: tl.constexpr, BLOCK_C: tl.constexpr,
    BLOCK_K: tl.constexpr, BLOCK_N: tl.constexpr, USE_DOT: tl.constexpr,
):
    """Steps start … start+steps-1 for batch rows [pid·BLOCK_B, (pid+1)·BLOCK_B).

    h and the gate live in registers (R × G/2 weight tiles). Each layer leaves its o in a scratch row;
    after the layers, skip = [o_0 … o_{L-1}] (BB, L·G/2) @ W_skip (L·G/2, S), the hidden layer and the
    logits are swept in tiles through that scratch, so the S × A and A × C matrices never sit in one tile.
    """
    H: tl.constexpr = G // 2
    RS: tl.constexpr = R + S
    b = tl.program_id(0) * BLOCK_B + tl.arange(0, BLOCK_B)           # (BB,)
    b_ok = b < batch
    b64 = b.to(tl.int64)                                             # queue offsets can pass 2³¹ at large batch
    r, g, c = tl.arange(0, BLOCK_R), tl.arange(0, BLOCK_H), tl.arange(0, BLOCK_C)
    n = tl.arange(0, BLOCK_N)
    r_ok, g_ok, c_ok = r < R, g < H, c < C
    # Weight tiles zero-padded to the blocks: offsets within row-major matrices, and their masks.
    rg = r[:, None] * G + g[None, :]                                 # (BR, BH) in a (2R, G) dilated matrix
    rg_ok = r_ok[:, None] & g_ok[None, :]
    gr = g[:, None] * RS + r[None, :]                                # (BH, BR) in a (G/2, R + S) res/skip matrix
    gr_ok = g_ok[:, None] & r_ok[None, :]
    br_ok = b_ok[:, None] & r_ok[None, :]
    bg_ok = b_ok[:, None] & g_ok[None, :]
    queue_rows_ptr = queues + b64[:, None] * (queue_rows * R) + r[None, :]  # (BB, BR)
    cond_rows_ptr = cond + b64[:, None] * cond_batch_stride + g[None, :]    # batch stride 0 when shared
    # Scratch row of each batch row: o of every layer (L·H), then ReLU(skip) (S), then the hidden layer (A).
    o_rows = scratch + b64[:, None] * scratch_stride                 # (BB, 1)
    skip_rows = o_rows + layers * H
    hidden_rows = skip_rows + S

    # The last two inputs stay in registers for the chunk; no other program reads them.
    x_prev2 = tl.load(last_inputs + 2 * b64, mask=b_ok, other=0)
    x_prev1 = tl.load(last_inputs + 2 * b64 + 1, mask=b_ok, other=0)
    input_b = tl.load(input_bias + r, mask=r_ok, other=0.0)[None, :]
    # while, not for: Triton 3.6's interpreter cannot take range() of a runtime argument under NumPy ≥ 2.3.
    i = 0
    while i < steps:
        t = start + i
        h = (tl.load(embed + x_prev2[:, None] * R + r[None, :], mask=br_ok, other=0.0)
             + tl.load(embed + (C + x_prev1)[:, None] * R + r[None, :], mask=br_ok, other=0.0) + input_b)  # (BB, BR)
        l = 0
        while l < layers:
            slot = queue_rows_ptr + (tl.load(offsets + l) + t % tl.load(dilations + l)) * R
            past = tl.load(slot, mask=br_ok, other=0.0)                  # h_{t-d}
            # The load above and the store below touch the same addresses, possibly from different threads.
            tl.debug_barrier()
            tl.store(slot, h, mask=br_ok)

            w = dilated + l * (2 * R * G)                                # rows for h_{t-d}, then for h_t
            bias = dilated_bias + l * G
            cond_l = cond_rows_ptr + l * cond_layer_stride + i * cond_step_stride
            z_f = (_matmul(past, tl.load(w + rg, mask=rg_ok, other=0.0), USE_DOT)
                   + _matmul(h, tl.load(w + R * G + rg, mask=rg_ok, other=0.0), USE_DOT)
                   + tl.load(bias + g, mask=g_ok, other=0.0)[None, :] + tl.load(cond_l, mask=bg_ok, other=0.0))
            z_g = (_matmul(past, tl.load(w + H + rg, mask=rg_ok, other=0.0), USE_DOT)
                   + _matmul(h, tl.load(w + R * G + H + rg, mask=rg_ok, other=0.0), USE_DOT)
                   + tl.load(bias + H + g, mask=g_ok, other=0.0)[None, :]
                   + tl.load(cond_l + H, mask=bg_ok, other=0.0))
            o = _tanh(z_f) * tl.sigmoid(z_g)                             # (BB, BH); padded channels are 0
            tl.store(o_rows + l * H + g[None, :], o, mask=bg_ok)

            w = res_skip + l * (H * RS)                                  # the last layer's residual part is 0
            h += (_matmul(o, tl.load(w + gr, mask=gr_ok, other=0.0), USE_DOT)
                  + tl.load(res_skip_bias + l * RS + r, mask=r_ok, other=0.0)[None, :])
            l += 1
        # Every stage below reads scratch that other threads of the program wrote; the barrier
        # after the layers also orders a lone dilation-1 layer's queue store before the next step's load.
        tl.debug_barrier()
        # packed.res_skip seen as one (L·H, R + S) matrix: its skip columns start at R.
        for n0 in range(0, S, BLOCK_N):
            skip = (_dense(o_rows, b_ok[:, None], layers * H, res_skip + R, RS, n0, S,
                           BLOCK_B, BLOCK_K, BLOCK_N, USE_DOT)
                    + tl.load(skip_bias + n0 + n, mask=n0 + n < S, other=0.0)[None, :])
            tl.store(skip_rows + n0 + n[None, :], tl.maximum(skip, 0.0), mask=b_ok[:, None] & (n0 + n < S)[None, :])
        tl.debug_barrier()
        for n0 in range(0, A, BLOCK_N):
            hidden = (_dense(skip_rows, b_ok[:, None], S, out1, A, n0, A, BLOCK_B, BLOCK_K, BLOCK_N, USE_DOT)
                      + tl.load(out1_bias + n0 + n, mask=n0 + n < A, other=0.0)[None, :])
            tl.store(hidden_rows + n0 + n[None, :], tl.maximum(hidden, 0.0),
                     mask=b_ok[:, None] & (n0 + n < A)[None, :])
        tl.debug_barrier()
        logits = (_dense(hidden_rows, b_ok[:, None], A, out2, C, 0, C, BLOCK_B, BLOCK_K, BLOCK_C, USE_DOT)
                  + tl.load(out2_bias + c, mask=c_ok, other=0.0)[None, :])                   # (BB, BC)

        # Categorical.sample: softmax(logits / T), cumulative sum, count entries ≤ u · cdf[C-1].
        scaled = tl.where(c_ok[None, :], logits / temperature, float("-inf"))
        e = tl.exp(scaled - tl.max(scaled, axis=1)[:, None])
        cdf = tl.cumsum(e / tl.sum(e, axis=1)[:, None], axis=1)
        # cdf[C-1] picked out exactly: a parallel scan need not be monotone to the last ulp, so max() could differ.
        total = tl.sum(tl.where(c[None, :] == C - 1, cdf, 0.0), axis=1)
        u = tl.load(draws + b64 * draws_stride + t, mask=b_ok, other=0.0)
        below = (cdf <= (u * total)[:, None]) & c_ok[None, :]
        x = tl.minimum(tl.sum(below.to(tl.int32), axis=1), C - 1).to(tl.int64)              # (BB,)
        tl.store(samples + b64 * samples_stride + t, x, mask=b_ok)
        x_prev2 = x_prev1
        x_prev1 = x
        i += 1
    tl.store(last_inputs + 2 * b64, x_prev2, mask=b_ok)
    tl.store(last_inputs + 2 * b64 + 1, x_prev1, mask=b_ok)


# --- the host side ---------------------------------------------------------------------------
def _block(n: int) -> int:
    """Channel block: a power of two, and ≥ 16 because tl.dot needs 16-wide tiles."""
    return max(16, triton.next_power_of_2(n))


def block_batch(batch: int, device: torch.device) -> int:
    """Rows per program.

    Small batches are latency-bound: one row per program spreads them over as
    many SMs as there are rows. From 16 rows on, programs take 16-row tiles for
    tl.dot, and 32-row tiles (twice the reuse of every weight tile read from L2)
    once that still leaves two programs per SM.
    """
    if batch < 16:
        return 1
    sms = torch.cuda.get_device_properties(device).multi_processor_count if device.type == "cuda" else 1
    return 32 if triton.cdiv(batch, 32) >= 2 * sms else 16


def _warps(rows: int) -> int:
    # Chosen from ptxas reports for the reference config on sm_90 (R=64, G=128, S=A=C=256): 4 warps at one
    # row and 8 at 16 rows fit in 255 registers with (almost) no spills; 32 rows needs 16 warps.
    return 4 if rows < 16 else 8 if rows < 32 else 16


def _interpreted() -> bool:
    """Whether the kernel was built for Triton's CPU interpreter (TRITON_INTERPRET=1 before Triton's import)."""
    from triton.runtime.interpreter import InterpretedFunction
    return isinstance(_sample_chunk, InterpretedFunction)


@torch.no_grad()
def generate(model, draws: torch.Tensor, cond, temperature: float,
             progress: Callable[[int], None] | None = None, *, block_rows: int | None = None) -> torch.Tensor:
    """Samples (B, T) for draws (B, T, 1) with the fused kernel, on the model's device.

    ``cond`` is the model's :class:`Conditioning` or None. ``block_rows``
    overrides the rows per program (a power of two; for tests).
    """
    if triton is None:
        raise WavegenError("the fused GPU path needs Triton (`pip install triton`, bundled with CUDA builds of "
                           "PyTorch on Linux); use --path cached instead")
    device = model.input_conv.weight.device
    if device.type != "cuda" and not _interpreted():
        raise WavegenError("the Triton kernel runs on a CUDA device, or on CPU tensors only when TRITON_INTERPRET=1 "
                           "was set before Triton was imported; on the CPU use the fused CPU path")
    packed = pack(model).to(device)
    L, R, G, S, A, C = packed.sizes
    if G % 2:
        raise WavegenError(f"the fused GPU path needs an even number of gate channels, got {G}")
    batch, steps, _ = draws.shape
    uniforms = draws[..., 0].to(device=device, dtype=torch.float32).contiguous()          # (B, T)
    samples = torch.empty(batch, steps, dtype=torch.long, device=device)
    queues = torch.zeros(batch, packed.queue_rows, R, device=device)                      # (B, Σd, R)
    last_inputs = torch.full((batch, 2), model.output.initial_input, dtype=torch.long, device=device)
    scratch = torch.empty(batch, L * (G // 2) + S + A, device=device)                  # o_0 … o_{L-1}, skip, hidden
    skip_bias = packed.res_skip_bias[:, R:].sum(0)                                        # (S,): Σ_l b_skip,l
    rows = block_rows or block_batch(batch, device)
    if rows & (rows - 1):
        raise WavegenError(f"rows per program must be a power of two, got {rows}")
    blocks = dict(BLOCK_B=rows, BLOCK_R=_block(R), BLOCK_H=_block(G // 2), BLOCK_C=_block(C), BLOCK_K=16,
                  BLOCK_N=min(64, _block(max(S, A))), USE_DOT=rows >= 16, num_warps=_warps(rows))
    grid = (triton.cdiv(batch, rows),)
    # One launch for the whole batch and length; with mel conditioning, one per chunk of up to 1 GB
    # of precomputed gate biases (about 6 s of 16 kHz audio per stream for the reference model).
    for start, stop, c in conditioning_chunks(cond, batch, steps, L, G, max_steps=None, budget_bytes=1 << 30):
        c = c.to(device)
        _, cond_batch, cond_steps, _ = c.shape                                              # (L, B|1, n|1, G)
        _sample_chunk[grid](
            packed.embed, packed.input_bias, packed.dilated, packed.dilated_bias, packed.res_skip,
            packed.res_skip_bias, skip_bias, packed.out1, packed.out1_bias, packed.out2, packed.out2_bias,
            packed.dilations, packed.offsets, c, uniforms, queues, last_inputs, scratch, samples,
            batch, L, start, stop - start, packed.queue_rows, temperature,
            uniforms.stride(0), samples.stride(0), cond_batch * cond_steps * G,
            cond_steps * G if cond_batch > 1 else 0, G if cond_steps > 1 else 0, scratch.stride(0),
            R=R, G=G, S=S, A=A, C=C, **blocks)
        if progress is not None:
            progress(stop - start)
    return samples
