"""WaveNet sampling speed: samples per second for every path, at several batch sizes.

    python benchmarks/bench_wavenet.py                     # reference config, batch 1, 16, 256, CPU
    python benchmarks/bench_wavenet.py --device cuda --batches 1 16 256 4096

The model is the benchmark reference configuration (R=64, 2R gate, S=A=256,
20 layers in 2 stacks of dilations 1…512, 256 μ-law classes, fp32) with random
weights: speed does not depend on training. Each path generates the same
steps from the same draws; the table shows samples per second (all streams
together), per stream, the real-time factor at 16 kHz, the speed-up over the
plain PyTorch cached path measured in the same run, and whether the path's
samples equal the cached path's.

Agreement: paths compute the same arithmetic in a different order, so logits
differ in the last bits; a draw can flip only when its uniform lies within
that rounding (~1e-7) of a class boundary of the CDF. ``rows equal`` counts
the streams whose whole sequence matched the cached path.
"""

from __future__ import annotations

import argparse
import platform
import time

import torch

from wavegen.audio.wavenet import WaveNet
from wavegen.audio.wavenet.sampling import generate
from wavegen.core.autoregressive import make_draws


def measure(model, path: str, batch: int, steps: int, device) -> tuple[float, torch.Tensor]:
    draws = make_draws(batch, steps, 1, seed=0).to(device)
    generate(model, draws[:, :1 if path == "reference" else 8], path=path)   # warm-up: caches, first calls
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    samples = generate(model, draws, path=path)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start, samples.cpu()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 16, 256])
    parser.add_argument("--paths", nargs="+", default=["reference", "cached", "fused"])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seconds", type=float, default=3.0, help="Target duration of each measurement.")
    parser.add_argument("--threads", type=int, default=None, help="torch / kernel threads [default: all cores].")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    model = WaveNet().to(device).eval()
    print(f"# {model.describe()}")
    print(f"# {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, device {device}"
          + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""))
    header = f"{'path':<10} {'batch':>5} {'steps':>6} {'samples/s':>12} {'per stream':>11} {'x real time':>11} " \
             f"{'vs cached':>9} {'rows equal':>10}"
    print(header)
    print("-" * len(header))
    for batch in args.batches:
        results = {}
        # Probe each path's speed briefly, then time enough steps for about --seconds.
        for path in args.paths:
            probe_steps = {"reference": 1, "cached": 64}.get(path, 1024)
            elapsed, _ = measure(model, path, batch, probe_steps, device)
            steps = max(probe_steps, min(200_000, int(args.seconds * probe_steps / max(elapsed, 1e-6))))
            elapsed, samples = measure(model, path, batch, steps, device)
            results[path] = (steps, elapsed, samples)
        base = results.get("cached")
        for path, (steps, elapsed, samples) in results.items():
            rate = batch * steps / elapsed
            speedup = rate / (batch * base[0] / base[1]) if base else float("nan")
            equal = "-"
            if base is not None and path != "cached":
                n = min(steps, base[0])
                equal = f"{int((samples[:, :n] == base[2][:, :n]).all(dim=1).sum())}/{batch}"
            print(f"{path:<10} {batch:>5} {steps:>6} {rate:>12,.0f} {rate / batch:>11,.0f} "
                  f"{rate / batch / 16000:>11.3f} {speedup:>9.1f} {equal:>10}")


if __name__ == "__main__":
    main()
