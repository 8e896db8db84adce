"""GAN vocoder speed on this machine: real-time factor of each preset at 22.05 kHz.

    python benchmarks/bench_vocoder.py [--threads 2] [--seconds 5] [--repeats 3] [--presets v1 v3 small]
                                       [--wavenet-seconds 0.5]

Each preset's generator (random weights: speed does not depend on them) vocodes
``--seconds`` of log-mel frames (80 bands, hop 256) in inference mode with weight
normalisation folded in, as ``wavegen vocode`` runs it; the number is the best of
``--repeats`` runs after a warm-up, to see through other load on the machine.
"x real time" is seconds of audio per second of wall-clock time. For scale, a
mel-conditioned WaveNet (the LJSpeech recipe's size and the demo's) samples
``--wavenet-seconds`` through its fused CPU path (0 skips it). Kong et al. 2020,
table 1, report 13.44x for V3, 1.43x for V1 and 6.59x for MelGAN on a CPU.
"""

from __future__ import annotations

import argparse

import torch

from wavegen.audio.vocode import vocode_mel
from wavegen.audio.hifigan.model import VOCODER_CONFIGS, HiFiGAN

from timing import best_time          # benchmarks/timing.py (the script's folder is on sys.path)

RATE, HOP, N_MELS = 22050, 256, 80


def mel_frames(seconds: float) -> torch.Tensor:
    frames = round(seconds * RATE / HOP)
    return torch.randn(N_MELS, frames, generator=torch.Generator().manual_seed(0)) - 5.0   # log-mel-like levels


def gan_rows(presets: list[str], seconds: float, repeats: int) -> list[tuple[str, str, str]]:
    rows = []
    mel = mel_frames(seconds)
    audio = mel.shape[1] * HOP / RATE
    for preset in presets:
        model = HiFiGAN(**VOCODER_CONFIGS[preset]).eval().remove_weight_norm()
        params = sum(p.numel() for p in model.generator.parameters())
        with torch.inference_mode():
            t = best_time(lambda: model.vocode(mel), repeats)
        rows.append((f"hifigan {preset}", f"{params / 1e6:.2f} M", f"{audio / t:.1f}x real time ({t * 1000:.0f} ms "
                     f"for {audio:.2f} s)"))
    return rows


def wavenet_rows(seconds: float) -> list[tuple[str, str, str]]:
    from wavegen.audio.wavenet import WAVENET_CONFIGS, WaveNet
    rows = []
    mel = mel_frames(seconds)
    audio = mel.shape[1] * HOP / RATE
    for preset in ("reference", "demo"):
        model = WaveNet(**WAVENET_CONFIGS[preset], mel_channels=N_MELS, upsample_scales=[16, 16], n_fft=1024,
                        fmax=8000.0, sample_rate=RATE).eval()
        params = sum(p.numel() for p in model.parameters())
        t = best_time(lambda: vocode_mel(model, mel), 1)
        rows.append((f"wavenet {preset}, mel-conditioned (fused CPU path)", f"{params / 1e6:.2f} M",
                     f"{audio / t:.2f}x real time ({t:.2f} s for {audio:.2f} s)"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--presets", nargs="+", default=["v1", "v3", "small"], choices=sorted(VOCODER_CONFIGS))
    parser.add_argument("--wavenet-seconds", type=float, default=0.5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = gan_rows(args.presets, args.seconds, args.repeats)
    if args.wavenet_seconds > 0:
        rows += wavenet_rows(args.wavenet_seconds)
    header = (f"vocoder, 22.05 kHz, CPU, {args.threads} thread{'s' if args.threads > 1 else ''}", "parameters",
              "result")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(3)]
    line = "| " + " | ".join("{:<%d}" % w for w in widths) + " |"
    print(line.format(*header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print(line.format(*row))


if __name__ == "__main__":
    main()
