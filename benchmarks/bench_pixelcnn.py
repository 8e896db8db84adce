"""Speed of the gated PixelCNN: training images per second, and sampled images per second along both paths.

    python benchmarks/bench_pixelcnn.py [--threads 2] [--batch 64] [--samples 16] [--plain-steps 16]

Training rows: the default model (64 channels, 1 + 12 gated layers) on binarised 28×28 images (2
levels), on 28×28 grey images at 256 levels and on 32×32 colour images at 256 levels; a step is the
recipe's: ``--batch`` images, forward, backward and Adam. Random images stand in for data: speed
does not depend on what they hold. Sampling rows: ``--samples`` binarised 28×28 images from the
default model. The cached path (Ramachandran et al. 2017) draws whole images; the plain path runs the
whole network for every sub-pixel, each step costing the same, so it is timed on its first
``--plain-steps`` sub-pixels and scaled to the image. Best of ``--repeats`` after a warm-up
(`benchmarks/timing.py`).
"""

from __future__ import annotations

import argparse
import platform

import torch

from wavegen.core.autoregressive import make_draws, sample_incremental
from wavegen.vision.pixelcnn import PixelCNN, PixelCNNTask, PlainPath

from timing import best_time          # benchmarks/timing.py (the script's folder is on sys.path)


def training_cases():
    """(name, model) for each training row."""
    yield "28x28 binarised", PixelCNN([1, 28, 28], levels=2)
    yield "28x28 256 levels", PixelCNN([1, 28, 28], levels=256)
    yield "32x32x3 256 levels", PixelCNN([3, 32, 32], levels=256)


@torch.no_grad()
def sampling_seconds(model: PixelCNN, batch: int, plain_steps: int, repeats: int) -> tuple[float, float]:
    """Seconds per batch of whole images: (cached, plain scaled from its first ``plain_steps`` sub-pixels)."""
    model.eval()
    draws = make_draws(batch, model.steps, 1, 0)
    cached = best_time(lambda: sample_incremental(model, draws), repeats)
    plain = best_time(lambda: sample_incremental(PlainPath(model), draws[:, :plain_steps]), repeats)
    return cached, plain * model.steps / plain_steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--batch", type=int, default=64, help="images per training step")
    parser.add_argument("--samples", type=int, default=16, help="images sampled at once")
    parser.add_argument("--plain-steps", type=int, default=16, help="sub-pixels the plain path is timed on")
    parser.add_argument("--repeats", type=int, default=2, help="timed runs after the warm-up (the best counts)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"# {platform.processor() or platform.machine()}, torch {torch.__version__}, {args.threads} threads")
    print(f"{'training':<20} {'params (M)':>10} {'images/s':>9} {'ms/step':>8}   (batch {args.batch})")
    for name, model in training_cases():
        model.train()
        images = torch.rand(args.batch, *model.image_shape)
        task = PixelCNNTask(model)
        step = best_time(lambda: task.train_step(images, 0), args.repeats)
        params = sum(p.numel() for p in model.parameters()) / 1e6
        print(f"{name:<20} {params:>10.2f} {args.batch / step:>9.1f} {step * 1000:>8.0f}", flush=True)
    model = PixelCNN([1, 28, 28], levels=2)
    cached, plain = sampling_seconds(model, args.samples, args.plain_steps, args.repeats)
    print(f"\n{'sampling 28x28':<20} {'images/s':>9} {'s/batch':>8}   (batch {args.samples})")
    print(f"{'cached':<20} {args.samples / cached:>9.2f} {cached:>8.2f}")
    print(f"{'plain':<20} {args.samples / plain:>9.3f} {plain:>8.1f}   (scaled from {args.plain_steps} "
          f"of {model.steps} sub-pixels)")
    print(f"cached / plain: {plain / cached:.0f}x")


if __name__ == "__main__":
    main()
