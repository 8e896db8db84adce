"""How SEGAN's enhancement cuts and joins windows, against quality: which edges need hiding.

    python benchmarks/bench_segan_tiling.py CHECKPOINT [--corpus-cache DIR ...] [--utterances 20]

Two tables. (1) Where in a window the generator's output is unreliable: windows half a
window apart overlap, and the mean absolute difference between their outputs for the same
samples is shown against the distance from the nearer window edge (as a share of the
difference in the window's middle third, which latent noise and context alone cause).
(2) For each tiling (``wavegen.audio.enhance.Tiling``), the generator's work per sample and the
mean of the reported measures (float32, and the default tiling in bfloat16 too) on the test
utterances of each given VoiceBank-DEMAND cache
(``prepare_voicebank`` output, e.g. EXP/data of a SEGAN recipe run), as ``wavegen enhance``
would write them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

import wavegen
from wavegen.audio.enhance import DEFAULT_TILING, HALF_OVERLAP, Tiling, enhance_waveform
from wavegen.audio.features import preemphasis
from wavegen.audio.metrics import mean_scores
from wavegen.audio.selection import REPORTED_SCALES, min_gain
from wavegen.data.voicebank import VoiceBankManifest

# (tiling, precision) per row; float32 unless the row is about precision.
TILINGS = {"half overlap, Hann (before)": (HALF_OVERLAP, "float32"),
           "trim 1/64, fade 1/32": (Tiling(trim=1 / 64, fade=1 / 32), "float32"),
           "trim 1/32, fade 1/16 (default)": (DEFAULT_TILING, "float32"),
           "trim 1/32, fade 1/16, linear": (Tiling(trim=1 / 32, fade=1 / 16, shape="linear"), "float32"),
           "trim 1/16, fade 1/16": (Tiling(trim=1 / 16, fade=1 / 16), "float32"),
           "no trim, fade 1/16": (Tiling(trim=0.0, fade=1 / 16), "float32"),
           "butted (no trim, no fade)": (Tiling(trim=0.0, fade=0.0), "float32"),
           "default, bfloat16": (DEFAULT_TILING, "bfloat16")}


def edge_profile(model, utterances: list[np.ndarray], bins: int = 16) -> list[tuple[str, float]]:
    """Mean |difference| of two half-overlapping windows' outputs, by distance from the nearer edge."""
    W, half = model.window, model.window // 2
    diffs = []
    g = torch.Generator().manual_seed(0)
    for audio in utterances:
        x = preemphasis(torch.as_tensor(audio, dtype=torch.float32), model.preemph)
        if len(x) < W + half:
            continue
        windows = x[: (len(x) - W) // half * half + W].unfold(0, W, half)[:, None]   # (k, 1, W)
        y = model.enhance_windows(windows, generator=g)[:, 0]                    # float32
        # Samples [half, W) of window j are samples [0, half) of window j + 1.
        diffs.append((y[:-1, half:] - y[1:, :half]).abs().mean(0))      # position p in window j: p + half
    d = torch.stack(diffs).mean(0)              # (half,): distance from window j+1's left edge = i
    # Distance from the nearer edge of the two windows: min(i, half - 1 - i) (right edge of window j).
    distance = torch.minimum(torch.arange(half), half - 1 - torch.arange(half))
    middle = d[(distance > half // 3)].mean()
    edges = np.linspace(0, half // 2, bins + 1).astype(int)
    return [(f"{a}-{b - 1}", float(d[(distance >= a) & (distance < b)].mean() / middle))
            for a, b in zip(edges[:-1], edges[1:])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--corpus-cache", type=Path, nargs="+", required=True)
    parser.add_argument("--utterances", type=int, default=20, help="test utterances per cache")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = wavegen.load(args.checkpoint)
    sets = {}
    for cache in args.corpus_cache:
        pairs = VoiceBankManifest.load(cache).test_pairs()[: args.utterances]
        sets[str(cache)] = [tuple(sf.read(p, dtype="float32")[0] for p in pair) for pair in pairs]

    print(f"| distance from the window edge (samples at {model.sample_rate} Hz, window {model.window}) "
          "| difference / middle |")
    print("|---|---|")
    for span, ratio in edge_profile(model, [noisy for pairs in sets.values() for _, noisy in pairs]):
        print(f"| {span} | {ratio:.2f} |")

    measures = list(REPORTED_SCALES)
    for name, pairs in sets.items():
        noisy = mean_scores(pairs, model.sample_rate)
        print(f"\n{name}: {len(pairs)} utterances\n")
        print("| tiling | generator runs per sample | " + " | ".join(m.upper() for m in measures) + " | min gain |")
        print("|---|---|" + "---|" * (len(measures) + 1))
        print("| noisy input | | " + " | ".join(f"{noisy[m]:.3f}" for m in measures) + " | |")
        for label, (tiling, precision) in TILINGS.items():
            enhanced = [(clean, np.clip(enhance_waveform(model, x, model.sample_rate, tiling=tiling,
                                                         precision=precision).numpy(), -1, 1))
                        for clean, x in pairs]
            scores = mean_scores(enhanced, model.sample_rate)
            trim, fade = tiling.samples(model.window)
            work = model.window / (model.window - 2 * trim - fade)
            print(f"| {label} | {work:.2f} | " + " | ".join(f"{scores[m]:.3f}" for m in measures)
                  + f" | {min_gain(scores, noisy):+.4f} |")


if __name__ == "__main__":
    main()
