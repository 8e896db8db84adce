"""WaveNet (van den Oord et al. 2016, "WaveNet: A generative model for raw audio").

    input (previous samples) ─ causal conv (kernel 2) ─▶ h⁰
    for each layer l (dilation d = 2^(l mod layers_per_stack)):
        z = W_f ⊛_d h + V_f c      z_f, z_g = split(z)          (eq. 2; c = conditioning)
        o = tanh(z_f) ⊙ σ(z_g)                                  gated activation unit
        h ← h + W_res o            skip += W_skip o             residual and skip 1×1 convs
    logits = W_2 ReLU(W_1 ReLU(skip))                            output stack

Conditioning (§2.5): *global* — a learned speaker embedding projected into
every layer's gate; *local* — log-mel frames upsampled to the sample rate by
learned transposed convolutions, then a 1×1 projection into every gate.

The network at step t sees samples x_<t only: its teacher-forced input is
the signal shifted right by one, padded with the output distribution's
"silence" value. Three ways to generate share these weights and give the same
samples for the same random draws (see ``sampling.py``): the full
recomputation over the receptive field (:meth:`WaveNet.reference_step`), the
cached step with per-layer queues (:meth:`WaveNet.init_state`/:meth:`step`,
Paine et al. 2016), and the fused kernels in ``kernels/``.
"""

from __future__ import annotations

import math
import torch
import torch.nn.functional as F
from torch import nn

from wavegen.audio.capabilities import Vocoder
from wavegen.audio.features import MelSpec, log_mel, mu_law_decode, mu_law_encode
from wavegen.core.autoregressive import make_output
from wavegen.core.capabilities import Sampler
from wavegen.core.layers import gated
from wavegen.core.registry import register_model

WAVENET_CONFIGS = {
    # The benchmark reference: R=64, 2R gate, S=A=256, 2 stacks of dilations 1…512.
    "reference": {},
    "demo": dict(residual_channels=32, gate_channels=64, skip_channels=128, output_channels=128,
                 layers=10, stacks=1),
    "tiny": dict(residual_channels=8, gate_channels=16, skip_channels=16, output_channels=16,
                 layers=4, stacks=2),
}


def _check_sizes(**sizes: int) -> None:
    for name, size in sizes.items():
        if size < 1:
            raise ValueError(f"{name} must be at least 1, got {size}")


@register_model("wavenet")
class WaveNet(Sampler, Vocoder, nn.Module):
    family = "autoregressive"

    def __init__(self, residual_channels: int = 64, gate_channels: int = 128, skip_channels: int = 256,
                 output_channels: int = 256, layers: int = 20, stacks: int = 2, output: str = "categorical",
                 bins: int = 256, mixture_components: int = 10, speakers: int = 0,
                 speaker_names: tuple[str, ...] = (), speaker_channels: int = 16,
                 mel_channels: int = 0, upsample_scales: tuple[int, ...] = (16, 16), sample_rate: int = 16000,
                 n_fft: int = 1024, fmin: float = 0.0, fmax: float | None = None):
        super().__init__()
        _check_sizes(residual_channels=residual_channels, gate_channels=gate_channels, layers=layers,
                     skip_channels=skip_channels, output_channels=output_channels, stacks=stacks)
        if gate_channels % 2:
            raise ValueError(f"gate_channels ({gate_channels}) must be even: half tanh, half sigmoid")
        if layers % stacks:
            raise ValueError(f"layers ({layers}) must be a multiple of stacks ({stacks})")
        speakers = speakers or len(speaker_names)
        if speaker_names and len(speaker_names) != speakers:
            raise ValueError(f"{len(speaker_names)} speaker names for {speakers} speakers")
        self.config = {k: (list(v) if isinstance(v, tuple) else v) for k, v in locals().items()
                       if k not in ("self", "__class__")}
        self.sample_rate = sample_rate
        self.output = make_output(output, bins=bins, components=mixture_components)
        self.dilations = [2 ** (i % (layers // stacks)) for i in range(layers)]
        R, G, S = residual_channels, gate_channels, skip_channels
        self.residual_channels, self.gate_channels = R, G
        in_channels = bins if self.output.discrete else 1          # one-hot classes or the value itself
        self.input_conv = nn.Conv1d(in_channels, R, kernel_size=2)
        self.dilated = nn.ModuleList(nn.Conv1d(R, G, kernel_size=2, dilation=d) for d in self.dilations)
        self.residual = nn.ModuleList(nn.Conv1d(G // 2, R, 1) for _ in range(layers - 1))  # the last has none
        self.skip = nn.ModuleList(nn.Conv1d(G // 2, S, 1) for _ in range(layers))
        self.output_stack = nn.Sequential(nn.ReLU(), nn.Conv1d(S, output_channels, 1), nn.ReLU(),
                                          nn.Conv1d(output_channels, self.output.param_channels, 1))
        # All layers' conditioning projections as one matrix: (L·G) outputs, sliced per layer.
        self.speaker_embedding = nn.Embedding(speakers, speaker_channels) if speakers else None
        self.speaker_projection = nn.Linear(speaker_channels, layers * G, bias=False) if speakers else None
        self.mel = MelSpec(sample_rate, n_fft, self.hop, mel_channels, fmin, fmax) if mel_channels else None
        self.upsample = nn.ModuleList(nn.ConvTranspose2d(1, 1, (3, 2 * s), stride=(1, s), padding=(1, s // 2))
                                      for s in upsample_scales) if mel_channels else None
        self.mel_projection = nn.Conv1d(mel_channels, layers * G, 1, bias=False) if mel_channels else None

    @property
    def hop(self) -> int:
        """Waveform samples per conditioning frame (the product of the upsampling strides)."""
        return math.prod(self.config["upsample_scales"])

    @property
    def receptive_field(self) -> int:
        """Samples of context each prediction sees: the input conv's 2 plus each dilation."""
        return 2 + sum(self.dilations)

    @property
    def layers(self) -> int:
        return len(self.dilations)

    # --- inputs and conditioning ---------------------------------------------------------
    def encode(self, audio: torch.Tensor) -> torch.Tensor:
        """Waveform in [-1, 1] -> the model's targets (μ-law classes, or the values themselves)."""
        return mu_law_encode(audio, self.output.bins) if self.output.discrete else audio.clamp(-1, 1)

    def decode(self, samples: torch.Tensor) -> torch.Tensor:
        """Generated samples -> waveform in [-1, 1]."""
        return mu_law_decode(samples, self.output.bins) if self.output.discrete else samples.float()

    def input_layer(self, inputs: torch.Tensor) -> torch.Tensor:
        """The causal input conv: inputs (B, T + 1) with x_{t-2}, x_{t-1} feeding position t -> (B, T, R).

        For μ-law classes the conv over one-hot vectors is two embedding lookups (its two taps).
        """
        w = self.input_conv.weight                                             # (R, C_in, 2)
        if self.output.discrete:
            h = F.embedding(inputs[:, :-1], w[:, :, 0].T) + F.embedding(inputs[:, 1:], w[:, :, 1].T)
        else:
            x = inputs.float().unsqueeze(-1)
            h = x[:, :-1] * w[:, 0, 0] + x[:, 1:] * w[:, 0, 1]
        return h + self.input_conv.bias

    def mel_frames(self, audio: torch.Tensor) -> torch.Tensor:
        """Waveform (B, T) -> the log-mel frames (B, n_mels, ceil(T / hop)) this model is conditioned on."""
        return log_mel(audio, self.mel)

    def conditioning(self, batch: int, speaker: torch.Tensor | None = None,
                     mel: torch.Tensor | None = None) -> Conditioning | None:
        """The gate biases from ``speaker`` (B,) indices and/or ``mel`` (B, n_mels, frames); None if unconditioned."""
        if self.speaker_projection is None and self.mel_projection is None:
            return None
        return Conditioning(self, batch, speaker, mel)

    def upsample_mel(self, mel: torch.Tensor) -> torch.Tensor:
        """(B, n_mels, frames) -> (B, n_mels, frames·hop): 2-D transposed convs over (mel, time)."""
        c = mel.unsqueeze(1)                                    # (B, 1, n_mels, frames)
        for layer in self.upsample:
            c = F.leaky_relu(layer(c), 0.4)
        return c.squeeze(1)

    # --- teacher forcing -----------------------------------------------------------------
    def forward(self, targets: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """Distribution parameters (B, P, T) for every step of ``targets`` (B, T), seeing only x_<t.

        ``cond``: gate biases (B, L, G, T|1), e.g. ``self.conditioning(...).chunk(0, T)``.
        """
        return self._stack(torch.cat([self._silence(targets), targets[:, :-1]], dim=1), cond)

    def _silence(self, like: torch.Tensor) -> torch.Tensor:
        """The two "previous samples" before the first one, (B, 2)."""
        return torch.full((like.shape[0], 2), self.output.initial_input, dtype=like.dtype, device=like.device)

    def _stack(self, inputs: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        """inputs (B, T + 1): x_{t-2}, x_{t-1} feed position t -> parameters (B, P, T).

        Runs time-major (B, T, C) with every conv as matrix products: kernel-2
        dilated convs as W_0 h_{t-d} + W_1 h_t. On CPUs this is several times
        faster than Conv1d for these channel counts, and it is the same
        arithmetic as the incremental step.
        """
        h = self.input_layer(inputs)                                              # (B, T, R)
        T = h.shape[1]
        skip = 0
        for layer, d in enumerate(self.dilations):
            conv = self.dilated[layer]
            past = F.pad(h, (0, 0, d, 0))[:, :T]                                   # h_{t-d}, zeros before 0
            z = F.linear(past, conv.weight[:, :, 0]) + F.linear(h, conv.weight[:, :, 1], conv.bias)  # (B, T, G)
            if cond is not None:
                z = z + cond[:, layer].transpose(1, 2)
            out = gated(z)                                                         # (B, T, G/2)
            skip = skip + F.linear(out, self.skip[layer].weight[:, :, 0], self.skip[layer].bias)
            if layer < self.layers - 1:
                h = h + F.linear(out, self.residual[layer].weight[:, :, 0], self.residual[layer].bias)
        return self.output_head(skip).transpose(1, 2)

    def output_head(self, skip: torch.Tensor) -> torch.Tensor:
        """ReLU, 1×1, ReLU, 1×1 on skip sums (..., S) -> distribution parameters (..., P)."""
        _, conv1, _, conv2 = self.output_stack
        hidden = F.relu(F.linear(F.relu(skip), conv1.weight[:, :, 0], conv1.bias))
        return F.linear(hidden, conv2.weight[:, :, 0], conv2.bias)

    def nll(self, targets: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """Mean negative log-likelihood in nats per sample (teacher forcing)."""
        return self.output.nll(self(targets, cond), targets).mean()

    # --- sampling: (a) the plain reference -----------------------------------------------
    def reference_step(self, history: torch.Tensor, cond: Conditioning | None, t: int) -> torch.Tensor:
        """Parameters (B, P) for sample t by recomputing the network over its whole receptive field.

        ``history`` (B, ≥t) holds the samples so far.
        """
        start = max(0, t - self.receptive_field + 1)
        # Position p is fed x_{p-2} and x_{p-1}: the padded inputs from start - 2 to t - 1.
        if start >= 2:
            inputs = history[:, start - 2:t]
        else:
            inputs = torch.cat([self._silence(history)[:, start:], history[:, :t]], dim=1)
        c = None if cond is None else cond.chunk(start, t + 1)
        return self._stack(inputs, c)[:, :, -1]

    # --- sampling: (b) cached, with per-layer queues ----------------------------------------
    def init_state(self, batch: int, cond: Conditioning | None) -> dict:
        """Queues of past hidden states (a ring buffer of length d per layer), the last input, and
        each layer's 1×1 matrices as contiguous (out, in) weights: [W_past W_now] and [W_res; W_skip]."""
        device = self.input_conv.weight.device
        R, L = self.residual_channels, self.layers
        layers = []
        for layer in range(L):
            conv = self.dilated[layer]
            outputs = [self.skip[layer]] if layer == L - 1 else [self.residual[layer], self.skip[layer]]
            layers.append((torch.cat([conv.weight[:, :, 0], conv.weight[:, :, 1]], dim=1), conv.bias,
                           torch.cat([c.weight[:, :, 0] for c in outputs]), torch.cat([c.bias for c in outputs])))
        return {
            "queues": [torch.zeros(batch, d, R, device=device) for d in self.dilations],
            "last_input": torch.full((batch,), self.output.initial_input,
                                     dtype=torch.long if self.output.discrete else torch.float32, device=device),
            "cond": cond,
            "layers": layers,
        }

    def step(self, state: dict, previous: torch.Tensor, t: int) -> torch.Tensor:
        """Parameters (B, P) for sample t given sample t-1, updating the queues in place."""
        w_in = self.input_conv.weight                                       # (R, C_in, 2)
        if self.output.discrete:
            h = w_in[:, state["last_input"], 0].T + w_in[:, previous, 1].T + self.input_conv.bias
        else:
            h = (state["last_input"][:, None] * w_in[:, 0, 0] + previous[:, None] * w_in[:, 0, 1]
                 + self.input_conv.bias)                                    # (B, R)
        state["last_input"] = previous
        cond = None if state["cond"] is None else state["cond"].at(t)        # (B, L, G)
        R = self.residual_channels
        skip = 0
        for layer, (d, (w_dilated, b_dilated, w_out, b_out)) in enumerate(zip(self.dilations, state["layers"])):
            queue, slot = state["queues"][layer], t % d
            z = F.linear(torch.cat([queue[:, slot], h], dim=1), w_dilated, b_dilated)   # (B, G)
            queue[:, slot] = h                                              # h_{t-d} read, now h_t stored
            if cond is not None:
                z = z + cond[:, layer]
            res_skip = F.linear(gated(z), w_out, b_out)                      # (B, R + S), last layer (B, S)
            if layer < self.layers - 1:
                h = h + res_skip[:, :R]
                res_skip = res_skip[:, R:]
            skip = skip + res_skip
        return self.output_head(skip)

    def describe(self) -> str:
        params = sum(p.numel() for p in self.parameters())
        ms = 1000 * self.receptive_field / self.sample_rate
        stacks = self.config["stacks"]
        return (f"WaveNet: {self.layers} layers in {stacks} stack{'s' if stacks > 1 else ''}, "
                f"R={self.residual_channels}, {params / 1e6:.2f} M parameters, "
                f"receptive field {self.receptive_field} samples ({ms:.0f} ms)")


class Conditioning:
    """Every layer's gate bias V c, computed a chunk of time steps at a time.

    The global part (speaker) is one (B, L, G) bias; the local part is the
    upsampled mel (B, n_mels, T) projected on demand, so generating minutes
    of audio does not hold an (L, G, T) tensor per example.
    """

    def __init__(self, model: WaveNet, batch: int, speaker: torch.Tensor | None, mel: torch.Tensor | None,
                 chunk: int = 1024):
        L, G = model.layers, model.gate_channels
        self.shape, self.chunk_size = (batch, L, G), chunk
        self.speaker_bias = self.upsampled = self.projection = None
        if model.speaker_projection is not None:
            if speaker is None:
                raise ValueError("this WaveNet is speaker-conditioned: give a speaker index")
            self.speaker_bias = model.speaker_projection(model.speaker_embedding(speaker)).view(batch, L, G)
        if model.mel_projection is not None:
            if mel is None:
                raise ValueError("this WaveNet is mel-conditioned: give mel frames")
            self.upsampled = model.upsample_mel(mel)                        # (B, n_mels, frames·hop)
            self.projection = model.mel_projection
        self._cached: tuple[int, torch.Tensor] | None = None

    @property
    def length(self) -> int | None:
        """How many steps the local conditioning covers (None: global only, any length)."""
        return None if self.upsampled is None else self.upsampled.shape[-1]

    def chunk(self, start: int, stop: int) -> torch.Tensor:
        """Gate biases (B, L, G, stop - start), or (B, L, G, 1) when there is no local conditioning."""
        if self.upsampled is None:
            return self.speaker_bias.unsqueeze(-1)
        local = self.projection(self.upsampled[..., start:stop]).view(*self.shape, -1)
        return local if self.speaker_bias is None else local + self.speaker_bias.unsqueeze(-1)

    def at(self, t: int) -> torch.Tensor:
        """Gate biases (B, L, G) for step t (computed a chunk ahead)."""
        if self.upsampled is None:
            return self.speaker_bias
        if self._cached is None or not self._cached[0] <= t < self._cached[0] + self._cached[1].shape[-1]:
            self._cached = (t, self.chunk(t, t + self.chunk_size))
        start, values = self._cached
        return values[..., t - start]



