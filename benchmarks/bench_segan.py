"""SEGAN speed on this machine: enhancement real-time factor and training throughput.

    python benchmarks/bench_segan.py [--threads 2] [--repeats 3] [--seconds 60]

Enhancement uses the paper-size generator (random weights: speed does not
depend on them): end to end through ``enhance_file`` on a 16 kHz mono file and
a 44.1 kHz stereo file and through ``enhance_files`` on a folder of short 48 kHz
utterances (whose windows ``enhance_files`` batches across files), each with the
default tiling (``wavegen.audio.enhance.Tiling``) at the default precision
(bfloat16 on CPUs with native bf16) and in float32, and with the half-overlapping
windows used before; and the bare generator (``WindowEnhancer``: float32 fast path,
bfloat16) on batches of 1, 4 and ``--batch`` windows. Training is one step of the real training
task (``SEGANTask``: least-squares GAN loss plus 100 * L1 for G, RMSprop at
2e-4, a reference batch of the batch size for virtual batch norm), in fp32 and,
on CPUs with native bf16, under bf16 autocast as the trainer runs it there.
Every number is the best of ``--repeats`` runs, to see through other load on
the machine.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from wavegen.audio.enhance import DEFAULT_TILING, HALF_OVERLAP, enhance_file, enhance_files
from wavegen.audio.segan import SEGAN
from wavegen.audio.segan.model import WindowEnhancer
from wavegen.audio.segan.train import SEGANTask
from wavegen.core.device import cpu_has_native_bf16

from timing import best_time          # benchmarks/timing.py (the script's folder is on sys.path)

# (tiling, precision) of each end-to-end row: today's default, its float32 twin, and the procedure before.
SETTINGS = {"default tiling, auto precision": (DEFAULT_TILING, "auto"),
            "default tiling, float32": (DEFAULT_TILING, "float32"),
            "half-overlapping windows, float32 (before)": (HALF_OVERLAP, "float32")}


def enhancement_rows(repeats: int, seconds: float, batch: int) -> list[tuple[str, str]]:
    model = SEGAN()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        rng = np.random.default_rng(0)
        for rate, channels in [(16000, 1), (44100, 2)]:
            src = Path(tmp) / f"in_{rate}.wav"
            sf.write(src, 0.1 * rng.standard_normal((int(seconds * rate), channels)).astype(np.float32), rate)
            for label, (tiling, precision) in SETTINGS.items():
                t = best_time(lambda: enhance_file(model, src, Path(tmp) / "out.wav", batch_size=batch,
                                                   overwrite=True, tiling=tiling, precision=precision), repeats)
                audio = seconds * channels                 # each channel is enhanced on its own
                rows.append((f"enhance_file, {seconds:.0f} s, {rate / 1000:g} kHz, {channels} ch, {label}",
                             f"{audio / t:.1f}x real time ({t:.2f} s)"))
        # A test set: many utterances of a few seconds at 48 kHz, as VoiceBank-DEMAND's 824.
        folder = Path(tmp) / "testset"
        folder.mkdir()
        lengths = rng.uniform(2.0, 4.0, size=max(1, int(seconds / 3)))
        for i, length in enumerate(lengths):
            sf.write(folder / f"u{i:03d}.wav", 0.1 * rng.standard_normal(int(length * 48000)).astype(np.float32),
                     48000, subtype="PCM_16")
        for label, (tiling, precision) in SETTINGS.items():
            t = best_time(lambda: enhance_files(model, [folder], Path(tmp) / "out", batch_size=batch,
                                                overwrite=True, tiling=tiling, precision=precision), repeats)
            rows.append((f"enhance_files, {len(lengths)} files of 2-4 s, 48 kHz, {label}",
                         f"{lengths.sum() / t:.1f}x real time ({t:.2f} s)"))
    for precision in ("float32", "bfloat16"):
        enhancer = WindowEnhancer(model, precision)
        for size in (1, 4, batch):
            x, z = 0.1 * torch.randn(size, 1, model.window), model.generator.sample_latent(size, model.window)
            t = best_time(lambda: enhancer(x, z), repeats)
            rows.append((f"generator, batch {size} x {model.window}, {precision}",
                         f"{size * model.window / model.sample_rate / t:.1f}x real time ({t * 1000:.0f} ms)"))
    return rows


def training_row(config: str, batch: int, repeats: int, bf16: bool) -> tuple[str, str]:
    """One real training step (SEGANTask: D update, then G update with LSGAN + 100·L1)."""
    torch.manual_seed(0)
    model = SEGAN.from_name(config)
    clean = 0.1 * torch.randn(batch, model.window)
    noisy = clean + 0.05 * torch.randn(batch, model.window)
    task = SEGANTask(model, torch.stack([clean, noisy], dim=1))     # reference (R, 2, T)

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            task.train_step((clean, noisy), 0)

    t = best_time(step, repeats)
    audio = batch * model.window / model.sample_rate
    precision = "bf16 autocast" if bf16 else "fp32"
    return (f"training step, {config} (window {model.window}, batch {batch}), {precision}",
            f"{t * 1000:.0f} ms/step, {batch / t:.1f} windows/s, {audio / t:.2f} s audio/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the enhanced test files")
    parser.add_argument("--batch", type=int, default=16, help="windows per generator call")
    parser.add_argument("--train-batch", type=int, default=16)
    parser.add_argument("--configs", nargs="+", default=["paper", "small"])
    parser.add_argument("--skip-enhance", action="store_true")
    parser.add_argument("--skip-training", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    rows = [] if args.skip_enhance else enhancement_rows(args.repeats, args.seconds, args.batch)
    precisions = [False, True] if cpu_has_native_bf16() else [False]
    rows += [] if args.skip_training else [training_row(name, args.train_batch, args.repeats, bf16)
                                           for name in args.configs for bf16 in precisions]
    width = max(len(name) for name, _ in rows)
    print(f"| {'SEGAN, CPU, %d threads' % args.threads:<{width}} | result |")
    print(f"|{'-' * (width + 2)}|--------|")
    for name, value in rows:
        print(f"| {name:<{width}} | {value} |")


if __name__ == "__main__":
    main()
