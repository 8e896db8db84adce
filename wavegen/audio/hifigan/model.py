"""A mel-spectrogram GAN vocoder: HiFi-GAN's generator (and, for training, its discriminators).

Kong, Kim and Bae, "HiFi-GAN: Generative Adversarial Networks for Efficient and
High Fidelity Speech Synthesis", NeurIPS 2020 (arXiv:2010.05646), §2.1 and fig. 1:

    mel (B, n_mels, F) ─ conv_pre (kernel 7) ─▶ (B, C, F)
    for each upsampling rate u_l:                        (l = 1 … L, C_l = C / 2^l)
        x = ConvTranspose1d(C_{l-1} → C_l, kernel 2·u_l, stride u_l)(LReLU(x))   ×u_l in time
        x = mean over kernels k_r of ResBlock_{k_r}(x)  multi-receptive-field fusion (MRF)
    audio = tanh(conv_post(LReLU(x)))                     (B, 1, F · Π u_l)

ResBlock1 (V1, V2): for each dilation d, x += conv_k(LReLU(conv_{k,d}(LReLU(x))));
ResBlock2 (V3):     for each dilation d, x += conv_{k,d}(LReLU(x)). Leaky slope 0.1,
weight normalisation (Salimans and Kingma 2016) on every convolution, removable
for inference (:meth:`HiFiGAN.remove_weight_norm`). Π u_l must equal the hop,
so F frames give exactly F·hop samples.

The features are the WaveNet LJSpeech vocoder's (``wavegen.audio.features.log_mel``:
natural-log mel magnitudes floored at 1e-5, frame f centred on sample f·hop,
ceil(T / hop) frames), so a mel from one vocoder's ``mel_frames`` drives the other.
The discriminators (MPD and MSD, ``discriminators.py``) live in the same model
object as ``model.discriminator``, as SEGAN's do, so one checkpoint resumes training.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import weight_norm

from wavegen.audio.capabilities import Vocoder
from wavegen.audio.features import MelSpec, log_mel
from wavegen.audio.hifigan.discriminators import LEAKY_SLOPE, VocoderDiscriminator
from wavegen.core.capabilities import Sampler
from wavegen.core.registry import register_model

# Frames of context on each side of a chunk in ``vocode``: over four times V1's reach.
CONTEXT_FRAMES = 32

_PAPER_MPD = [32, 128, 512, 1024, 1024]
_PAPER_MSD = [128, 128, 256, 512, 1024, 1024, 1024]

# Overrides of the constructor defaults (HiFi-GAN V1, the paper's best-quality generator).
VOCODER_CONFIGS: dict[str, dict] = {
    "v1": {},                                                                          # 13.9 M generator parameters
    "v2": {"upsample_initial_channel": 128},                                           # 0.9 M
    "v3": {"upsample_rates": [8, 8, 4], "upsample_initial_channel": 256, "resblock": "2",
           "resblock_kernel_sizes": [3, 5, 7], "resblock_dilations": [[1, 2], [2, 6], [3, 12]]},   # 1.5 M
    # CPU demo: V3's shape at half its width (a quarter of its work; ~40x real time on 2 cores)
    # with discriminators a quarter as wide, so a training step takes well under a second.
    "small": {"upsample_rates": [8, 8, 4], "upsample_initial_channel": 128, "resblock": "2",
              "resblock_kernel_sizes": [3, 5, 7], "resblock_dilations": [[1, 2], [2, 6], [3, 12]],
              "mpd_channels": [8, 32, 128, 256, 256], "msd_channels": [16, 16, 32, 64, 128, 128, 128]},
    # Unit tests: milliseconds per call.
    "tiny": {"upsample_rates": [8, 8, 4], "upsample_initial_channel": 16, "resblock": "2",
             "resblock_kernel_sizes": [3], "resblock_dilations": [[1, 2]], "mpd_periods": [2, 3],
             "mpd_channels": [4, 8], "msd_scales": 2, "msd_channels": [4, 4, 8, 8, 8, 8, 8]},
}


def _normal_init(conv: nn.Module) -> nn.Module:
    """HiFi-GAN's initialisation of the upsampling and residual convolutions: N(0, 0.01²)."""
    nn.init.normal_(conv.weight, 0.0, 0.01)
    return conv


class ResBlock(nn.Module):
    """ResBlock1 (``double=True``: dilated conv then plain conv per dilation) or ResBlock2 (dilated conv only)."""

    def __init__(self, channels: int, kernel_size: int, dilations: list[int], double: bool):
        super().__init__()

        def conv(dilation: int) -> nn.Module:
            return weight_norm(_normal_init(nn.Conv1d(channels, channels, kernel_size, dilation=dilation,
                                                      padding=dilation * (kernel_size - 1) // 2)))

        self.dilated = nn.ModuleList(conv(d) for d in dilations)
        self.plain = nn.ModuleList(conv(1) for _ in dilations) if double else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, dilated in enumerate(self.dilated):
            h = dilated(F.leaky_relu(x, LEAKY_SLOPE))
            if self.plain is not None:
                h = self.plain[i](F.leaky_relu(h, LEAKY_SLOPE))
            x = x + h
        return x


class Upsample(nn.Module):
    """Transposed convolution with kernel 2u and stride u: (B, C_in, F) -> (B, C_out, u·F) exactly."""

    def __init__(self, in_channels: int, out_channels: int, rate: int):
        super().__init__()
        # Output length (F − 1)u − 2p + 2u + q = uF when q = 2p − u: p = ⌈u/2⌉, q ∈ {0, 1}.
        padding = (rate + 1) // 2
        self.conv = weight_norm(_normal_init(nn.ConvTranspose1d(
            in_channels, out_channels, 2 * rate, rate, padding=padding, output_padding=2 * padding - rate)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.leaky_relu(x, LEAKY_SLOPE))


class Generator(nn.Module):
    """Log-mel frames (B, n_mels, F) -> waveform (B, 1, F · Π rates) in [-1, 1]."""

    def __init__(self, n_mels: int, rates: list[int], initial_channels: int, resblock: str,
                 kernel_sizes: list[int], dilations: list[list[int]]):
        super().__init__()
        self.conv_pre = weight_norm(nn.Conv1d(n_mels, initial_channels, 7, padding=3))
        widths = [initial_channels // 2 ** i for i in range(len(rates) + 1)]
        self.ups = nn.ModuleList(Upsample(c_in, c_out, u) for c_in, c_out, u in zip(widths, widths[1:], rates))
        self.mrfs = nn.ModuleList(
            nn.ModuleList(ResBlock(c, k, d, double=(resblock == "1")) for k, d in zip(kernel_sizes, dilations))
            for c in widths[1:])
        self.conv_post = weight_norm(nn.Conv1d(widths[-1], 1, 7, padding=3))

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = self.conv_pre(mel)                                               # (B, C, F)
        for up, mrf in zip(self.ups, self.mrfs):
            x = up(x)                                                        # (B, C_l, F · u_1 ⋯ u_l)
            x = sum(block(x) for block in mrf) / len(mrf)
        # The released code's last activation uses leaky_relu's default slope, 0.01.
        return torch.tanh(self.conv_post(F.leaky_relu(x, 0.01)))          # (B, 1, F · hop)


@register_model("hifigan", aliases=("gan_vocoder",))
class HiFiGAN(Vocoder, Sampler, nn.Module):
    """HiFi-GAN: ``model.generator`` (mel -> waveform) and ``model.discriminator`` (MPD + MSD)."""

    family = "gan"

    def __init__(self, upsample_rates: tuple[int, ...] = (8, 8, 2, 2), upsample_initial_channel: int = 512,
                 resblock: str = "1", resblock_kernel_sizes: tuple[int, ...] = (3, 7, 11),
                 resblock_dilations: tuple[tuple[int, ...], ...] = ((1, 3, 5), (1, 3, 5), (1, 3, 5)),
                 mpd_periods: tuple[int, ...] = (2, 3, 5, 7, 11), mpd_channels: tuple[int, ...] = tuple(_PAPER_MPD),
                 msd_scales: int = 3, msd_channels: tuple[int, ...] = tuple(_PAPER_MSD),
                 sample_rate: int = 22050, n_fft: int = 1024, hop: int = 256, n_mels: int = 80,
                 fmin: float = 0.0, fmax: float | None = 8000.0):
        super().__init__()
        _check_config(upsample_rates, upsample_initial_channel, resblock, resblock_kernel_sizes,
                      resblock_dilations, sample_rate, n_fft, hop, n_mels, fmin, fmax)
        self.config = {k: _jsonable(v) for k, v in locals().items() if k not in ("self", "__class__")}
        self.sample_rate, self.hop = sample_rate, hop
        self.mel = MelSpec(sample_rate, n_fft, hop, n_mels, fmin, fmax)
        self.generator = Generator(n_mels, list(upsample_rates), upsample_initial_channel, resblock,
                                   list(resblock_kernel_sizes), [list(d) for d in resblock_dilations])
        self.discriminator = VocoderDiscriminator(list(mpd_periods), list(mpd_channels), msd_scales,
                                                  list(msd_channels))

    def mel_frames(self, audio: torch.Tensor) -> torch.Tensor:
        """Waveform (..., T) -> log-mel frames (..., n_mels, ceil(T / hop)), the vocoder's input."""
        return log_mel(audio, self.mel)

    @torch.no_grad()
    def vocode(self, mel: torch.Tensor, chunk_frames: int = 1024) -> torch.Tensor:
        """Log-mel frames (n_mels, F) or (B, n_mels, F) -> waveform (F·hop,) or (B, F·hop).

        Long inputs run ``chunk_frames`` at a time, each with ``CONTEXT_FRAMES`` of
        its neighbours on both sides and their samples cut off again: more than the
        generator's receptive field (a frame reaches samples 5 frames before and 7
        after it in V1), so the result is the one-call result to float rounding,
        with memory bounded by the chunk.
        """
        if mel.dim() not in (2, 3) or mel.shape[-2] != self.mel.n_mels:
            raise ValueError(f"expected log-mel frames shaped (n_mels={self.mel.n_mels}, frames) or "
                             f"(batch, {self.mel.n_mels}, frames), got {tuple(mel.shape)}")
        device = self.generator.conv_pre.bias.device
        frames = mel.to(device, torch.float32).reshape(-1, *mel.shape[-2:])             # (B, n_mels, F)
        total, c = frames.shape[-1], CONTEXT_FRAMES
        pieces = []
        for start in range(0, total, chunk_frames):
            stop = min(start + chunk_frames, total)
            left, right = max(start - c, 0), min(stop + c, total)
            audio = self.generator(frames[..., left:right]).squeeze(1)                  # (B, (right − left)·hop)
            pieces.append(audio[:, (start - left) * self.hop:(stop - left) * self.hop])
        return torch.cat(pieces, dim=-1).reshape(*mel.shape[:-2], -1)

    def remove_weight_norm(self) -> HiFiGAN:
        """Fold weight normalisation into plain weights (same outputs, faster); for inference only.

        The state dict's names change with it, so a model treated so is not saved again.
        """
        for module in self.generator.modules():
            if parametrize.is_parametrized(module, "weight"):
                parametrize.remove_parametrizations(module, "weight", leave_parametrized=True)
        return self


def _check_config(rates, initial_channels, resblock, kernel_sizes, dilations, sample_rate, n_fft, hop, n_mels,
                  fmin, fmax) -> None:
    """One-line ValueErrors for settings the generator cannot take."""
    if not rates or any(u < 2 for u in rates):
        raise ValueError(f"upsample_rates must be a non-empty list of rates of at least 2, got {list(rates)}")
    if math.prod(rates) != hop:
        raise ValueError(f"the upsample rates {list(rates)} multiply to {math.prod(rates)}, but each mel frame "
                         f"stands for hop={hop} samples: their product must equal the hop")
    if initial_channels // 2 ** len(rates) < 1:
        raise ValueError(f"upsample_initial_channel={initial_channels} is too narrow to halve {len(rates)} times")
    if resblock not in ("1", "2"):
        raise ValueError(f"resblock must be '1' (V1/V2) or '2' (V3), got {resblock!r}")
    if not kernel_sizes or len(kernel_sizes) != len(dilations) or any(not d for d in dilations):
        raise ValueError(f"resblock_kernel_sizes {list(kernel_sizes)} and resblock_dilations "
                         f"{[list(d) for d in dilations]} need one non-empty dilation list per kernel")
    if any(k % 2 == 0 for k in kernel_sizes):
        raise ValueError(f"resblock_kernel_sizes must be odd (same-length convolutions), got {list(kernel_sizes)}")
    if sample_rate < 1 or n_fft < 1 or n_mels < 1:
        raise ValueError(f"sample_rate, n_fft and n_mels must be positive, got {sample_rate}, {n_fft}, {n_mels}")
    if fmax is not None and not 0 <= fmin < fmax <= sample_rate / 2:
        raise ValueError(f"need 0 <= fmin < fmax <= sample_rate / 2, got fmin={fmin}, fmax={fmax} at {sample_rate} Hz")


def _jsonable(value):
    return [_jsonable(v) for v in value] if isinstance(value, (tuple, list)) else value
