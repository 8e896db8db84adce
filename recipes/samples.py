"""`make samples`: train every demo recipe (resumable) and publish a few files of each into samples/.

Each entry of ``RECIPES`` is one ``wavegen recipe`` command; finished stages are
skipped, so running this again after an interruption continues where it stopped
and, once everything is trained, only re-copies the files. The published layout
is what ``wavegen listen`` reads: one folder per task, ``<item>_<system>.wav``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from recipes.vocoder import demo as vocoder_demo

# The vocoder demo's corpus (its default arguments), written once where both vocoders read it.
LJSPEECH_DEMO = Path("exp/ljspeech-demo")
# A demo-size mel-conditioned WaveNet on that corpus and the GAN vocoder's features, so that the
# vocoder comparison has a WaveNet beside it (the command in benchmarks/RESULTS.md).
WAVENET_VOCODER = ["--data-root", str(LJSPEECH_DEMO), "--exp-dir", "exp/wavenet-vocoder-demo",
                   "--set", "model.residual_channels=32", "--set", "model.gate_channels=64",
                   "--set", "model.skip_channels=128", "--set", "model.output_channels=128",
                   "--set", "model.layers=10", "--set", "model.stacks=1", "--max-steps", "600",
                   "--set", "train.batch_size=8", "--set", "train.crop_samples=4000", "--set", "train.lr=2e-3",
                   "--set", "data.test_utterances=4"]

# (model, data, extra arguments), in order: a later one may read an earlier one's output.
RECIPES = [
    ("segan", "demo", []),
    ("wavenet", "ljspeech", WAVENET_VOCODER),
    ("vocoder", "demo", ["--data-root", str(LJSPEECH_DEMO),
                         "--set", "compare.wavenet=exp/wavenet-vocoder-demo/model.safetensors"]),
    ("wavenet", "demo", []),
    ("vae", "digits", []),
    ("cvae", "digits", []),
    ("dcgan", "digits", []),
    ("cgan", "digits", []),
    ("pixelcnn", "digits", []),
    ("specgan", "demo", []),
    ("wavegan", "demo", []),
]


def command(model: str, data: str, extra: list[str]) -> list[str]:
    """The ``wavegen recipe`` command line for one entry."""
    return [sys.executable, "-m", "wavegen.cli", "recipe", model, "--data", data, *extra]


def train_all() -> None:
    """Run every recipe in order (each skips its finished stages); stop at the first that fails."""
    from wavegen.data.demo import write_ljspeech_demo
    from wavegen.progress import wrap_iterable
    write_ljspeech_demo(LJSPEECH_DEMO, **vocoder_demo.CONFIG["corpus"], progress=wrap_iterable("write demo corpus"))
    for model, data, extra in RECIPES:
        print(f"== wavegen recipe {model} --data {data} {' '.join(extra)}", flush=True)
        subprocess.run(command(model, data, extra), check=True)


def main(argv: list[str]) -> int:
    train_all()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
