"""Speed of SpecGAN and WaveGAN: training steps per second and generated clips per second.

    python benchmarks/bench_specgan.py [--threads 2] [--sizes 8 16 64] [--batch 16]

A training step is what the recipes run: five WGAN-GP critic updates, each on
its own real minibatch of ``--batch`` clips, and one generator update.
Generation is ``model.generate_audio`` as ``wavegen sample`` and the evaluate
stage call it (SpecGAN includes 16 Griffin-Lim iterations). Random clips stand
in for data: speed does not depend on what the clips hold. Each number is the
best of 3 runs (1 for d > 16) after a warm-up (`benchmarks/timing.py`). Prints a table.
"""

from __future__ import annotations

import argparse
import platform

import torch

from wavegen.audio.specgan.model import SpecGAN
from wavegen.audio.clip_gan import AudioGANTask
from wavegen.audio.wavegan.model import WaveGAN

from timing import best_time          # benchmarks/timing.py (the script's folder is on sys.path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 16, 64], help="model sizes d")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--clips", type=int, default=64, help="clips generated per timing")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"# {platform.processor() or platform.machine()}, torch {torch.__version__}, {args.threads} threads, "
          f"batch {args.batch} x 5 critic minibatches")
    print(f"{'model':<8} {'d':>3} {'params G/D (M)':>15} {'train steps/s':>14} {'s/step':>7} {'clips/s':>8}")
    audio = 0.1 * torch.randn(5 * args.batch, 16384)
    labels = torch.zeros(5 * args.batch, dtype=torch.long)
    for cls in (SpecGAN, WaveGAN):
        for d in args.sizes:
            model = cls(model_size=d)
            if cls is SpecGAN:
                model.set_statistics(model.log_magnitude(audio))
            task = AudioGANTask(model)
            repeats = 3 if d <= 16 else 1
            step = best_time(lambda: task.train_step((audio, labels), 0), repeats)
            model.eval()
            generate = best_time(lambda: model.generate_audio(args.clips), 1)
            g = sum(p.numel() for p in model.generator.parameters()) / 1e6
            dis = sum(p.numel() for p in model.discriminator.parameters()) / 1e6
            print(f"{model.registry_name:<8} {d:>3} {g:>7.2f}/{dis:<7.2f} {1 / step:>14.2f} {step:>7.2f} "
                  f"{args.clips / generate:>8.1f}", flush=True)


if __name__ == "__main__":
    main()
