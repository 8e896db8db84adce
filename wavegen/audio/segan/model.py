"""SEGAN: speech enhancement GAN on raw waveforms.

Pascual, Bonafonte and Serrà, "SEGAN: Speech Enhancement Generative Adversarial
Network", Interspeech 2017 (arXiv:1703.09452), section 3 and figure 2.

- The generator G is a fully convolutional encoder-decoder. The encoder has 11
  strided 1-D convolutions (width 31, stride 2, PReLU) taking a 16384-sample
  window to a (1024, 8) "thought vector" c; a latent z ~ N(0, I) of the same
  shape is concatenated to it, and a mirrored decoder of transposed
  convolutions brings it back to one channel, each layer also receiving the
  encoder feature of the same length (skip connections) and the last ending
  in tanh.
- The discriminator D sees (candidate, noisy) as two channels, uses the
  encoder's convolution shapes with virtual batch normalisation and
  LeakyReLU(0.3), then a 1x1 convolution to one channel and a fully connected
  layer to one logit (the paper trains it with the least-squares objective).
- Waveforms are pre-emphasised with coefficient 0.95 before the model sees them.

Enhancement uses an exact fast path for the short, wide layers near the
bottleneck (``conv1d_as_matmul``, ``conv_transpose1d_as_matmul``), and can mix a
share of the noisy input back into the output (an attenuation limit,
:attr:`SEGAN.attenuation_limit_db`).
"""

from __future__ import annotations

import copy
import math
import weakref

import torch
import torch.nn.functional as F
from torch import nn

from wavegen.audio.capabilities import Enhancer
from wavegen.core.layers import RefStats, VirtualBatchNorm, kaiming_init_
from wavegen.core.registry import register_model

PAPER_CHANNELS = (16, 32, 32, 64, 64, 128, 128, 256, 256, 512, 1024)

# Overrides of the paper configuration (the constructor defaults).
SEGAN_CONFIGS: dict[str, dict] = {
    "paper": {},
    # CPU demo: 4096-sample windows (0.256 s), 8 layers, channels 16..128 (a few minutes of
    # training with bf16 on two cores). Pre-emphasis 0.8 rather than 0.95: de-emphasis
    # multiplies the generator's low-frequency errors by up to 1/(1 - coef), 20x at 0.95, and
    # a briefly trained generator's errors are large there; 0.8 caps the gain at 5x.
    "small": {"window": 4096, "channels": [16, 32, 32, 64, 64, 128, 128, 128], "preemph": 0.8,
              "residual": True},
    # Unit tests: a forward pass in milliseconds; bottleneck (16, 8) as in the paper, so the
    # short-layer fast path is exercised.
    "tiny": {"window": 256, "channels": [4, 8, 8, 16, 16]},
}


class DownsampleConv(nn.Module):
    """Strided convolution with "same" padding: (B, C_in, T) -> (B, C_out, T / stride)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 2):
        super().__init__()
        self.conv = nn.Conv1d(in_channels, out_channels, kernel_size, stride=stride,
                              padding=(kernel_size - 1) // 2)

    def forward(self, x: torch.Tensor, fast: bool = False) -> torch.Tensor:
        if fast and x.shape[-1] < self.conv.kernel_size[0]:
            return conv1d_as_matmul(x, self.conv)
        return self.conv(x)


class UpsampleConv(nn.Module):
    """Strided transposed convolution: (B, C_in, T) -> (B, C_out, stride T), the mirror of DownsampleConv."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 2):
        super().__init__()
        padding = (kernel_size - 1) // 2
        # Output length is s(T - 1) - 2p + K + output_padding; output_padding = s - 1 makes it exactly sT.
        self.deconv = nn.ConvTranspose1d(in_channels, out_channels, kernel_size, stride=stride,
                                         padding=padding, output_padding=stride + 2 * padding - kernel_size)

    def forward(self, x: torch.Tensor, fast: bool = False) -> torch.Tensor:
        if fast and x.shape[-1] < self.deconv.kernel_size[0]:
            return conv_transpose1d_as_matmul(x, self.deconv)
        return self.deconv(x)


# The fast path. Near the bottleneck the sequences are shorter than the kernel
# (T = 8 or 16 against K = 31) while the weights are huge (2048 x 512 x 31 in the
# first decoder layer), and oneDNN's direct convolutions run these layers at a
# fraction of the machine's speed. Written as one matrix product plus an
# im2col (unfold) or col2im (fold) they compute exactly the same sums; on a
# 2-core CPU this makes the paper generator's forward about 1.5x faster. Longer
# layers stay on the convolution kernels, which are faster there.

def conv1d_as_matmul(x: torch.Tensor, conv: nn.Conv1d) -> torch.Tensor:
    """``conv(x)`` as im2col + matmul: (B, C_in, T) -> (B, C_out, T_out)."""
    c_out, c_in, K = conv.weight.shape
    cols = F.unfold(x.unsqueeze(2), kernel_size=(1, K), stride=(1, conv.stride[0]),
                    padding=(0, conv.padding[0]))                      # (B, C_in * K, T_out)
    return torch.matmul(conv.weight.reshape(c_out, c_in * K), cols) + conv.bias[:, None]


def conv_transpose1d_as_matmul(x: torch.Tensor, deconv: nn.ConvTranspose1d) -> torch.Tensor:
    """``deconv(x)`` as matmul + col2im: (B, C_in, T) -> (B, C_out, T_out).

    Input sample i adds w[:, :, k]^T x[:, i] to output i*stride + k - padding;
    the product gives every (k, i) contribution and fold overlap-adds them
    (fold's padding crops the output exactly as the transposed conv does).
    """
    c_in, c_out, K = deconv.weight.shape
    T_out = (x.shape[-1] - 1) * deconv.stride[0] - 2 * deconv.padding[0] + K + deconv.output_padding[0]
    cols = torch.matmul(deconv.weight.reshape(c_in, c_out * K).t(), x)   # (B, C_out * K, T)
    y = F.fold(cols, output_size=(1, T_out), kernel_size=(1, K), stride=(1, deconv.stride[0]),
               padding=(0, deconv.padding[0]))                         # (B, C_out, 1, T_out)
    return y.squeeze(2) + deconv.bias[:, None]


class Generator(nn.Module):
    """Encoder-decoder with skip connections and a latent z at the bottleneck (paper fig. 2).

    The paper's output is ``tanh`` of the last decoder layer, so even a clean input must be
    rebuilt through the stride-2 layers. ``residual`` adds the input instead (output = noisy +
    tanh(last layer)): the generator learns a correction, which keeps nearly clean inputs intact
    when training is short (the demo); off by default, as in the paper.

    ``skip="sum"`` and ``stride=4`` are SEGAN+'s changes (Pascual et al.'s segan_pytorch, the
    generator of "Towards generalized speech enhancement with GANs", Interspeech 2019): each
    encoder feature is added to the decoder output of its length with a learnt per-channel gain
    (initialised to 1) instead of concatenated, and fewer, stride-4 layers reach the bottleneck.
    """

    def __init__(self, channels: list[int], kernel_size: int, latent_channels: int, residual: bool = False,
                 stride: int = 2, skip: str = "concat"):
        super().__init__()
        if skip not in ("concat", "sum"):
            raise ValueError(f"skip must be 'concat' or 'sum', got {skip!r}")
        self.residual, self.stride, self.skip = residual, stride, skip
        self.num_layers = len(channels)
        self.latent_channels = latent_channels
        enc_in = [1] + channels[:-1]
        self.encoder = nn.ModuleList(DownsampleConv(i, o, kernel_size, stride) for i, o in zip(enc_in, channels))
        self.encoder_act = nn.ModuleList(nn.PReLU(o) for o in channels)
        # Decoder layer j outputs the channels of encoder layer L-1-j (1 for the last one) and is
        # fed the previous decoder output joined (concatenated or summed) with the encoder feature
        # of that length.
        dec_out = channels[-2::-1] + [1]
        widen = 2 if skip == "concat" else 1
        dec_in = [channels[-1] + latent_channels] + [widen * c for c in channels[-2::-1]]
        self.decoder = nn.ModuleList(UpsampleConv(i, o, kernel_size, stride) for i, o in zip(dec_in, dec_out))
        self.decoder_act = nn.ModuleList(nn.PReLU(o) for o in dec_out[:-1])
        self.skip_gains = (nn.ParameterList(nn.Parameter(torch.ones(c, 1)) for c in dec_out[:-1])
                           if skip == "sum" else None)

    @property
    def decimation(self) -> int:
        """How many input samples one bottleneck step stands for."""
        return self.stride ** self.num_layers

    def latent_shape(self, length: int) -> tuple[int, int]:
        return self.latent_channels, length // self.decimation

    def sample_latent(self, batch: int, length: int, generator: torch.Generator | None = None,
                      device=None, dtype=None) -> torch.Tensor:
        """z ~ N(0, I) of shape (B, latent_channels, T / decimation)."""
        return torch.randn(batch, *self.latent_shape(length), generator=generator,
                           device=device, dtype=dtype)

    def forward(self, noisy: torch.Tensor, z: torch.Tensor | None = None,
                generator: torch.Generator | None = None, fast: bool = False) -> torch.Tensor:
        """(B, 1, T) pre-emphasised noisy speech -> (B, 1, T) enhanced, T a multiple of ``decimation``.

        ``fast`` computes the layers shorter than the kernel as matrix products (same numbers).
        """
        if z is None:
            z = self.sample_latent(noisy.shape[0], noisy.shape[-1], generator, device=noisy.device, dtype=noisy.dtype)
        return self.output(noisy, self.decode(noisy, z, fast))

    def decode(self, noisy: torch.Tensor, z: torch.Tensor, fast: bool = False) -> torch.Tensor:
        """The last decoder layer's output (B, 1, T), before :meth:`output`."""
        T = noisy.shape[-1]
        if T % self.decimation:
            raise ValueError(f"length {T} is not a multiple of {self.decimation} (stride {self.stride} "
                             f"to the power of {self.num_layers} layers)")
        skips = []
        h = noisy
        for conv, act in zip(self.encoder, self.encoder_act):
            h = act(conv(h, fast))                             # (B, C_l, T / 2**l)
            skips.append(h)
        h = torch.cat([skips.pop(), z], dim=1)                 # (B, C_L + latent, T / decimation)
        for j, deconv in enumerate(self.decoder):
            h = deconv(h, fast)                                # (B, C, stride * length)
            if j < len(self.decoder) - 1:
                h = self.decoder_act[j](h)
                h = (torch.cat([h, skips.pop()], dim=1) if self.skip_gains is None
                     else h + self.skip_gains[j] * skips.pop())
        return h

    def output(self, noisy: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """tanh of the last layer, added to the input when ``residual``."""
        return noisy + torch.tanh(h) if self.residual else torch.tanh(h)


class WindowEnhancer:
    """The generator as enhancement runs it, in float32 (the exact fast path) or bfloat16.

    ``bfloat16`` runs a bfloat16 copy of the generator's layers with PyTorch's plain
    convolutions (on CPUs with AVX512-BF16 or AMX about twice as fast as float32; the
    fast path's fold and unfold are slow in bfloat16) and adds the residual input in
    float32, so a clean input is not rounded to bfloat16's 8-bit mantissa.
    """

    def __init__(self, model: "SEGAN", precision: str = "float32"):
        if precision not in ("float32", "bfloat16"):
            raise ValueError(f"precision must be float32 or bfloat16, got {precision!r}")
        self.model, self.generator = model, model.generator
        self.low_precision = _bfloat16_copy(model.generator) if precision == "bfloat16" else None

    @torch.inference_mode()
    def __call__(self, noisy: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """(B, 1, window) pre-emphasised windows and their latents -> (B, 1, window) enhanced, float32."""
        if self.low_precision is None:
            out = self.generator(noisy, z, fast=True)
        else:
            out = self.generator.output(noisy, self.low_precision.decode(noisy.bfloat16(), z.bfloat16()).float())
        return self.model.mix_noisy(out, noisy)


# generator -> (the versions of its tensors when copied, its bfloat16 copy): one copy per set of
# weights, made again whenever a weight changes in place (an optimiser step, loading a state dict).
_BFLOAT16_COPIES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _bfloat16_copy(generator: Generator) -> Generator:
    versions = tuple(t._version for t in generator.state_dict(keep_vars=True).values())
    cached = _BFLOAT16_COPIES.get(generator)
    if cached is None or cached[0] != versions:
        cached = versions, copy.deepcopy(generator).to(torch.bfloat16).eval()
        _BFLOAT16_COPIES[generator] = cached
    return cached[1]


class Discriminator(nn.Module):
    """Conv encoder with virtual batch norm over (candidate, noisy) pairs -> one logit each."""

    def __init__(self, channels: list[int], kernel_size: int, window: int, leaky_slope: float, stride: int = 2):
        super().__init__()
        enc_in = [2] + channels[:-1]
        self.convs = nn.ModuleList(DownsampleConv(i, o, kernel_size, stride) for i, o in zip(enc_in, channels))
        self.norms = nn.ModuleList(VirtualBatchNorm(o) for o in channels)
        self.leaky_slope = leaky_slope
        self.to_one_channel = nn.Conv1d(channels[-1], 1, kernel_size=1)
        self.fc = nn.Linear(window // stride ** len(channels), 1)

    def forward(self, candidate: torch.Tensor, noisy: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        """candidate, noisy (B, 1, T); reference (R, 2, T) fixed (clean, noisy) pairs -> logits (B,).

        The reference batch goes through first to fix every layer's VBN
        statistics; each real example is then normalised with those (blended
        with its own), so its logit does not depend on the rest of its batch.
        """
        stats = self._reference_stats(reference)
        h = torch.cat([candidate, noisy], dim=1)               # (B, 2, T)
        for conv, norm, ref in zip(self.convs, self.norms, stats):
            h, _ = norm(conv(h), ref)
            h = F.leaky_relu(h, self.leaky_slope)              # (B, C_l, T / stride**l)
        h = self.to_one_channel(h).flatten(1)                  # (B, T / stride**L)
        return self.fc(h).squeeze(1)                           # (B,)

    def _reference_stats(self, reference: torch.Tensor) -> list[RefStats]:
        stats = []
        h = reference
        for conv, norm in zip(self.convs, self.norms):
            h, s = norm(conv(h))
            h = F.leaky_relu(h, self.leaky_slope)
            stats.append(s)
        return stats


@register_model("segan")
class SEGAN(Enhancer, nn.Module):
    """Generator and discriminator of SEGAN; the constructor defaults are the paper's configuration."""

    family = "gan"

    def __init__(self, window: int = 16384, channels: list[int] | tuple[int, ...] = PAPER_CHANNELS,
                 kernel_size: int = 31, latent_channels: int | None = None,
                 leaky_slope: float = 0.3, preemph: float = 0.95, sample_rate: int = 16000,
                 residual: bool = False, stride: int = 2, skip: str = "concat"):
        super().__init__()
        channels = [int(c) for c in channels]
        latent_channels = channels[-1] if latent_channels is None else int(latent_channels)
        if kernel_size % 2 == 0:
            raise ValueError("kernel_size must be odd so that 'same' padding is symmetric")
        if stride < 2 or window % stride ** len(channels):
            raise ValueError(f"window {window} is not a multiple of stride {stride} to the power of "
                             f"{len(channels)} layers")
        self.config = {"window": int(window), "channels": channels, "kernel_size": int(kernel_size),
                       "latent_channels": latent_channels, "leaky_slope": float(leaky_slope),
                       "preemph": float(preemph), "sample_rate": int(sample_rate), "residual": bool(residual),
                       "stride": int(stride), "skip": str(skip)}
        self.window = int(window)
        self.preemph = float(preemph)
        self.sample_rate = int(sample_rate)
        # He initialisation for the activations that follow each layer (PReLU starts at 0.25):
        # with PyTorch's default the signal shrinks ~2x per layer, and training starts far slower.
        self.generator = kaiming_init_(Generator(channels, kernel_size, latent_channels, residual, stride, skip), 0.25)
        if residual:       # start as the identity: the generator learns a correction to its input
            nn.init.zeros_(self.generator.decoder[-1].deconv.weight)
            nn.init.zeros_(self.generator.decoder[-1].deconv.bias)
        self.discriminator = kaiming_init_(Discriminator(channels, kernel_size, window, leaky_slope, stride),
                                           leaky_slope)
        # The share m of the noisy input in what enhancement outputs, (1 - m) * G(x) + m * x: not
        # trained, but chosen on validation (SEGANTask) or set by the user; it travels with the weights.
        self.register_buffer("noisy_mix", torch.zeros(()))
        self.register_load_state_dict_pre_hook(_default_noisy_mix)

    @property
    def attenuation_limit_db(self) -> float | None:
        """The most enhancement may attenuate the input, in dB (None: no limit, the generator alone).

        Enhancement outputs ``(1 - m) * G(x) + m * x`` with ``m = 10 ** (-limit / 20)``, so
        where the generator removes everything, the noisy input remains ``limit`` dB down. This
        is the attenuation limit of DeepFilterNet (Schröter et al. 2022, ``deep-filter
        --atten-lim``); a briefly trained generator's residual is less like speech than the
        noise it replaces, and a little of the input hides it (benchmarks/RESULTS.md).
        """
        m = float(self.noisy_mix)
        return None if m <= 0 else -20 * math.log10(m)

    @attenuation_limit_db.setter
    def attenuation_limit_db(self, limit: float | None) -> None:
        if limit is not None and not (limit > 0 and math.isfinite(limit)):
            raise ValueError(f"attenuation limit must be a positive number of dB or None, got {limit!r}")
        self.noisy_mix.fill_(0.0 if limit is None else 10 ** (-limit / 20))

    def mix_noisy(self, enhanced: torch.Tensor, noisy: torch.Tensor) -> torch.Tensor:
        """``enhanced`` with the share :attr:`noisy_mix` of ``noisy`` mixed back (the attenuation limit)."""
        m = float(self.noisy_mix)
        return enhanced if m == 0 else torch.lerp(enhanced, noisy, m)

    @classmethod
    def from_name(cls, name: str, **overrides) -> "SEGAN":
        """Build a named configuration (``paper``, ``small``, ``tiny``) with optional overrides."""
        if name not in SEGAN_CONFIGS:
            raise KeyError(f"unknown SEGAN configuration {name!r}; choose from {sorted(SEGAN_CONFIGS)}")
        return cls(**{**SEGAN_CONFIGS[name], **overrides})

    @torch.inference_mode()
    def enhance_windows(self, noisy: torch.Tensor, z: torch.Tensor | None = None,
                        generator: torch.Generator | None = None) -> torch.Tensor:
        """Enhance a batch of pre-emphasised windows (B, 1, window) -> (B, 1, window) with the fast path."""
        return self.mix_noisy(self.generator(noisy, z=z, generator=generator, fast=True), noisy)

    def window_enhancer(self, precision: str = "float32") -> "WindowEnhancer":
        """What ``wavegen enhance`` runs windows through: (noisy, z) -> enhanced, in ``precision``."""
        return WindowEnhancer(self, precision)


def _default_noisy_mix(module, state_dict, prefix, *args) -> None:
    """Checkpoints written before ``noisy_mix`` existed load with no attenuation limit."""
    state_dict.setdefault(prefix + "noisy_mix", torch.zeros(()))
