"""SEGAN at the demo's budget: which training changes help on speakers it has not heard.

    python benchmarks/segan_ablation.py [--out exp/segan-ablation] [--variants NAME ...]

Each variant is ``wavegen recipe segan --data demo`` with the settings below (all runs share
one demo corpus) and is scored on three test sets, noisy input beside enhanced:

- ``demo test``: the recipe's own test set (speakers p232 and p257, never trained on);
- ``held-out A``: the test split of a demo corpus written with ``seed=1`` (other voices,
  sentences and noise draws for p232 and p257, the test SNRs 2.5-17.5 dB);
- ``held-out B``: one utterance from each of that corpus's 28 training voices (voices
  none of the runs trained on, at the training SNRs 0-15 dB).

Every run holds out its last two training speakers for validation and publishes the
weights where ``val_min_gain`` (the smallest gain over the noisy input among PESQ, STOI,
ESTOI, CSIG, CBAK, COVL and segmental SNR) was best. The table gives each measure and
``min gain`` (positive: better than the noisy input on all seven). Finished runs are
reused, so an interrupted ablation picks up where it stopped, and scores are kept in
OUT/ablation.json (a run's row is not scored again; delete the file to rescore). ``--also
EXP ...`` scores finished experiments beside them (e.g. the demo's own exp/segan-demo); one
published with an attenuation limit gets a second row, the generator alone, and ``--limits
none 20 10 ...`` scores each model at those attenuation limits too.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

# The settings under study, given explicitly so the runs do not depend on the demo's defaults.
BASE = {"train.validation_speakers": 2, "train.select_by": "val_min_gain", "train.warmup_steps": 100,
        "train.ema_decay": 0.999, "train.stft_weight": 1.0, "train.remix": 0.5, "train.remix_gain_db": [-10.0, 5.0],
        "train.lr_schedule": "constant", "train.adversarial_weight": 1.0, "train.attenuation_limits_db": []}
VARIANTS = {
    "base": {},
    "no-adversarial": {"train.adversarial_weight": 0.0},
    "cosine": {"train.lr_schedule": "cosine"},
    "lr-5e-4-cosine": {"train.lr": 5e-4, "train.lr_schedule": "cosine"},
    "stft-4": {"train.stft_weight": 4.0},
    "mel": {"train.mel_weight": 1.0},
    # Second round, on top of the log mel-band energy loss.
    "mel-cosine": {"train.mel_weight": 1.0, "train.lr_schedule": "cosine"},
    "mel-no-adversarial": {"train.mel_weight": 1.0, "train.adversarial_weight": 0.0},
    "remix-all": {"train.remix": 1.0, "train.remix_gain_db": [-15.0, 10.0]},
    # SEGAN+'s generator: five stride-4 layers, skip connections summed with learnt gains.
    "segan-plus": {"model.stride": 4, "model.skip": "sum", "model.channels": [16, 32, 64, 128, 256]},
}
MEASURES = ("pesq", "stoi", "estoi", "csig", "cbak", "covl", "ssnr")


def run_variant(out: Path, name: str, corpus: Path) -> Path:
    exp = out / name
    settings = {**BASE, **VARIANTS[name]}
    args = [str(Path(sys.executable).parent / "wavegen"), "recipe", "segan", "--data", "demo", "--exp-dir", str(exp),
            "--data-root", str(corpus)]
    for key, value in settings.items():
        args += ["--set", f"{key}={value if isinstance(value, str) else json.dumps(value)}"]
    subprocess.run(args, check=True)
    return exp


def held_out_sets(out: Path) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """(clean, noisy) 16 kHz pairs of the two held-out sets, from a seed-1 demo corpus."""
    from wavegen.data.demo import write_voicebank_demo
    from wavegen.data.voicebank import VoiceBankManifest, prepare_voicebank
    root = write_voicebank_demo(out / "heldout-corpus", seed=1, train_speakers=28, train_utterances_per_speaker=1,
                                test_speakers=2, test_utterances_per_speaker=10)
    manifest = prepare_voicebank(root, out / "heldout-cache")
    manifest = VoiceBankManifest.load(out / "heldout-cache")
    test = [tuple(sf.read(path, dtype="float32")[0] for path in pair) for pair in manifest.test_pairs()]
    return {"held-out A": test, "held-out B": [manifest.train_pair(i) for i in range(len(manifest.train_names))]}


def demo_test_set(exp: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    from wavegen.data.voicebank import VoiceBankManifest
    manifest = VoiceBankManifest.load(exp / "data")
    return [tuple(sf.read(path, dtype="float32")[0] for path in pair) for pair in manifest.test_pairs()]


def enhanced_scores(model, pairs, rate: int) -> dict:
    """Mean scores of the enhanced speech (as `wavegen enhance` writes it, unquantised)."""
    from wavegen.audio.enhance import enhance_waveform
    from wavegen.audio.metrics import mean_scores
    return mean_scores([(clean, np.clip(enhance_waveform(model, noisy, rate).numpy(), -1, 1))
                        for clean, noisy in pairs], rate)


def row_label(name: str, step: int, limit: float | None, own: float | None) -> str:
    """A model's row: its attenuation limit if it has one or is scored at one (``own``: the published limit)."""
    if limit is None:
        return f"{name} (step {step}{', no limit' if own is not None else ''})"
    return f"{name} (step {step}, limit {limit:.3g} dB{', published' if limit == own else ''})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("exp/segan-ablation"))
    parser.add_argument("--variants", nargs="*", choices=list(VARIANTS),
                        help="variants to train and score (default: all of them, or none with --also)")
    parser.add_argument("--also", nargs="*", type=Path, default=[],
                        help="finished SEGAN experiment folders to score beside the variants (e.g. exp/segan-demo)")
    parser.add_argument("--limits", nargs="*", type=lambda v: None if v == "none" else float(v),
                        help="attenuation limits in dB ('none': the generator alone) to score each model at, "
                             "beside its own (default: its own, and none if it has one)")
    args = parser.parse_args()
    if args.variants is None:
        args.variants = [] if args.also else list(VARIANTS)

    import wavegen
    from wavegen.audio.metrics import mean_scores
    from wavegen.audio.selection import min_gain
    from wavegen.core.checkpoint import read_checkpoint
    args.out.mkdir(parents=True, exist_ok=True)
    saved = args.out / "ablation.json"
    table = json.loads(saved.read_text()) if saved.is_file() else {}     # runs scored before are kept
    sets = None
    runs = [(exp.name, lambda exp=exp: exp) for exp in args.also]
    runs += [(name, lambda name=name: run_variant(args.out, name, args.out / "corpus")) for name in args.variants]
    for name, run in runs:
        exp = run()
        sets = sets or {"demo test": demo_test_set(exp), **held_out_sets(args.out)}
        model = wavegen.load(exp / "model.safetensors")
        step, own = read_checkpoint(exp / "model.safetensors")[0]["step"], model.attenuation_limit_db
        rows = {row_label(name, step, limit, own): limit
                for limit in dict.fromkeys([own, *(args.limits or ([] if own is None else [None]))])}
        for row, row_limit in rows.items():
            model.attenuation_limit_db = row_limit
            for set_name, pairs in sets.items():
                if set_name not in table:                  # the noisy input's scores, once per set
                    table[set_name] = {"noisy input": mean_scores(pairs, model.sample_rate)}
                if row not in table[set_name]:
                    table[set_name][row] = enhanced_scores(model, pairs, model.sample_rate)
        saved.write_text(json.dumps(table, indent=1))
    for set_name, rows in table.items():
        print(f"\n{set_name} ({len(sets[set_name]) if sets else '?'} utterances)\n")
        print("| run | " + " | ".join(m.upper() for m in MEASURES) + " | min gain |")
        print("|---|" + "---|" * (len(MEASURES) + 1))
        noisy = rows["noisy input"]
        for run, values in rows.items():
            gain = "" if run == "noisy input" else f"{min_gain(values, noisy):+.4f}"
            print(f"| {run} | " + " | ".join(f"{values[m]:.3f}" for m in MEASURES) + f" | {gain} |")


if __name__ == "__main__":
    main()
