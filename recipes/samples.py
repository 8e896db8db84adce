"""`make samples`: train every demo recipe (resumable) and publish a few files of each into samples/.

Each entry of ``RECIPES`` is one ``wavegen recipe`` command; finished stages are
skipped, so running this again after an interruption continues where it stopped
and, once everything is trained, only re-copies the files. The published layout
is what ``wavegen listen`` reads: one folder per task, ``<item>_<system>.wav``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from wavegen.audio.io import read_audio, write_audio
from wavegen.core.checkpoint import read_checkpoint
from wavegen.core.files import copy_file_atomic, write_text_atomic
from wavegen.data.corpora import CorpusManifest
from wavegen.data.demo import write_ljspeech_demo
from wavegen.progress import wrap_iterable
from wavegen.recipes.hifigan import demo as hifigan_demo

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
    ("hifigan", "demo", ["--data-root", str(LJSPEECH_DEMO),
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


# Published folder ← (experiment, its command, what the folder shows); samples/README.md says all three.
PUBLISHED = {
    "segan-demo": ("exp/segan-demo", "wavegen recipe segan --data demo",
                   "SEGAN speech enhancement: the same held-out utterances clean (reference), noisy and enhanced."),
    "hifigan-demo": ("exp/hifigan-demo", "wavegen recipe hifigan --data demo --data-root exp/ljspeech-demo "
                     "--set compare.wavenet=exp/wavenet-vocoder-demo/model.safetensors",
                     "Vocoders: held-out utterances (original, the reference) resynthesised from their log-mel "
                     "spectrograms by the GAN vocoder and by a mel-conditioned WaveNet (exp/wavenet-vocoder-demo)."),
    "wavenet-demo": ("exp/wavenet-demo", "wavegen recipe wavenet --data demo",
                     "WaveNet: free-running samples per speaker (global conditioning, fused CPU sampling path) "
                     "beside a real held-out recording of the same speaker."),
    "specgan-demo": ("exp/specgan-demo", "wavegen recipe specgan --data demo",
                     "SpecGAN: generated one-second spoken digits and the batch's spectrogram grid."),
    "wavegan-demo": ("exp/wavegan-demo", "wavegen recipe wavegan --data demo",
                     "WaveGAN: generated one-second spoken digits and the batch's spectrogram grid."),
    "vae-digits": ("exp/vae-digits", "wavegen recipe vae --data digits",
                   "VAE: test reconstructions, prior samples and latent interpolations."),
    "cvae-digits": ("exp/cvae-digits", "wavegen recipe cvae --data digits",
                    "Conditional VAE: reconstructions, latent interpolations and one latent per row under "
                    "every class."),
    "dcgan-digits": ("exp/dcgan-digits", "wavegen recipe dcgan --data digits",
                     "DCGAN: samples and latent interpolations."),
    "cgan-digits": ("exp/cgan-digits", "wavegen recipe cgan --data digits",
                    "Conditional GAN: one latent per row under every class, and latent interpolations."),
    "pixelcnn-digits": ("exp/pixelcnn-digits", "wavegen recipe pixelcnn --data digits",
                        "Gated PixelCNN (class-conditional): samples of every class, cached sampling path."),
}
# Other checkpoints a folder's files come from: (experiment, its command).
ALSO = {"hifigan-demo": [("exp/wavenet-vocoder-demo", "wavegen recipe wavenet --data ljspeech "
                          + " ".join(WAVENET_VOCODER))]}
CLIPS = 4                               # generated clips published per SC09 model


def command(model: str, data: str, extra: list[str]) -> list[str]:
    """The ``wavegen recipe`` command line for one entry."""
    return [sys.executable, "-m", "wavegen.cli", "recipe", model, "--data", data, *extra]


def train_all() -> None:
    """Run every recipe in order (each skips its finished stages); stop at the first that fails."""
    write_ljspeech_demo(LJSPEECH_DEMO, **hifigan_demo.CONFIG["corpus"], progress=wrap_iterable("write demo corpus"))
    for model, data, extra in RECIPES:
        print(f"== wavegen recipe {model} --data {data} {' '.join(extra)}", flush=True)
        subprocess.run(command(model, data, extra), check=True)


def published_names(folder: str, samples: Path) -> dict[Path, str]:
    """{file in the experiment's samples/: name in samples/<folder>/} (``<item>_<system>`` for audio)."""
    files = sorted(p for p in samples.iterdir() if p.is_file())
    if folder == "segan-demo":
        return {p: p.name for p in files if p.suffix == ".wav"}
    if folder == "hifigan-demo":
        systems = {"original": "original", "hifigan": "hifigan", "wavenet": "wavenet"}
        found = {}
        for p in files:
            for name, published in systems.items():
                if p.stem.endswith(f"-{name}"):
                    found[p] = f"{p.stem[:-len(name) - 1]}_{published}.wav"
        return found
    if folder == "wavenet-demo":
        # <speaker>-seed<seed>-<i>.wav → <speaker>_wavenet.wav (<speaker>-<i>_wavenet.wav if several)
        wavs = [p for p in files if p.suffix == ".wav"]
        several = len({p.stem.split("-")[0] for p in wavs}) < len(wavs)
        return {p: f"{p.stem.split('-')[0]}{'-' + p.stem.rsplit('-', 1)[1] if several else ''}_wavenet.wav"
                for p in wavs}
    if folder in ("specgan-demo", "wavegan-demo"):
        model = folder.split("-")[0]
        clips = [p for p in files if p.suffix == ".wav"][:CLIPS]
        return {**{p: f"clip{i}_{model}.wav" for i, p in enumerate(clips)},
                **{p: "grid.png" for p in files if p.suffix == ".png"}}
    return {p: p.name for p in files if p.suffix == ".png"}


def publish(destination: Path) -> list[Path]:
    """Copy every finished experiment's chosen files into ``destination`` (16-bit WAV) and write its README."""
    written, sections = [], []
    earlier = _published_sections(destination / "README.md")
    for folder, (exp_dir, how, what) in PUBLISHED.items():
        exp_dir = Path(exp_dir)
        if not (exp_dir / "samples").is_dir():
            kept = " (its published files and section are kept)" if folder in earlier else ""
            print(f"skipped {folder}: {exp_dir}/samples does not exist (the recipe has not finished){kept}")
            if folder in earlier:
                sections.append(earlier[folder])
            continue
        target = destination / folder
        shutil.rmtree(target, ignore_errors=True)           # this step's own output
        names = published_names(folder, exp_dir / "samples")
        for source, name in sorted(names.items(), key=lambda kv: kv[1]):
            if source.suffix == ".wav":
                audio, rate = read_audio(source)
                written.append(write_audio(target / name, audio, rate, subtype="PCM_16"))
            else:
                written.append(copy_file_atomic(source, target / name))
        listed = sorted(set(names.values()))
        if folder == "wavenet-demo":
            real = write_real_recordings(exp_dir, {n.split("-")[0].split("_")[0] for n in listed}, target)
            written += list(real.values())
            listed = sorted([*listed, *real])
        results = exp_dir / "results.txt"
        summary = results.read_text().strip() if results.is_file() else ""
        made_by = [f"- made by: `{how}`\n- checkpoint: {_checkpoint(exp_dir)}"]
        made_by += [f"- with: `{command}`\n- checkpoint: {_checkpoint(Path(other))}"
                    for other, command in ALSO.get(folder, [])]
        sections.append(f"## {folder}/\n\n{what}\n\n" + "\n".join(made_by) + "\n- files: "
                        + ", ".join(f"`{n}`" for n in listed)
                        + (f"\n\n```\n{summary}\n```" if summary else "") + "\n")
    write_text_atomic(destination / "README.md", README.format(sections="\n".join(sections)))
    return written


def _published_sections(readme: Path) -> dict[str, str]:
    """{folder: its section} of an earlier README, so re-publishing one experiment keeps the others."""
    if not readme.is_file():
        return {}
    parts = re.split(r"^(?=## [\w.-]+/$)", readme.read_text(), flags=re.MULTILINE)
    return {part.split("/", 1)[0][3:]: part.rstrip("\n") + "\n" for part in parts if part.startswith("## ")}


def _checkpoint(exp_dir: Path) -> str:
    """`exp/…/model.safetensors` (step N, sha256 …): which weights made the files."""
    header, _ = read_checkpoint(exp_dir / "model.safetensors")
    return f"`{exp_dir}/model.safetensors` (step {header['step']}, sha256 {header['sha256'][:16]}…)"


def write_real_recordings(exp_dir: Path, speakers: set[str], target: Path) -> dict[str, Path]:
    """One real held-out recording per speaker, ``<speaker>_real.wav``, from the recipe's own corpus cache."""
    data = json.loads((exp_dir / "stages" / "prepare.json").read_text())["result"]
    manifest = CorpusManifest.load(data["cache_dir"])
    written = {}
    for speaker in sorted(speakers):
        name = next((n for n in manifest.names("test") if Path(n).name.startswith(speaker)), None)
        if name is not None:
            written[f"{speaker}_real.wav"] = write_audio(target / f"{speaker}_real.wav",
                                                              manifest.audio(name), manifest.sample_rate,
                                                              subtype="PCM_16")
    return written


README = """# samples

Examples made by checkpoints this project trained with its demo recipes, small enough to commit.
`make samples` regenerates the folder: it runs every demo recipe (`recipes/samples.py`; finished stages
are skipped; about 70 minutes on a 2-core CPU from nothing) and copies a few files of each here.

Audio files are named `<item>_<system>.wav`. `wavegen listen samples/` starts a MUSHRA test of every
item that has a reference (`clean` or `original`): one trial per utterance, one stimulus per system, with
the hidden reference and the 3.5 kHz anchor added; `--type acr` rates every file on its own and `--type ab`
compares two systems of the same item. `wavegen listen samples/ --gallery -o gallery/` writes a page with
a player and a spectrogram for every file. These are demo-size models trained for minutes on generated
speech and scikit-learn's digits, not the real corpora: listen to them as what the demos reach.

{sections}"""


def main(argv: list[str]) -> int:
    import argparse
    parser = argparse.ArgumentParser(prog="python -m wavegen.recipes.samples", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--publish-only", action="store_true",
                        help="train nothing: copy the files of the experiments already on this machine")
    args = parser.parse_args(argv)
    if not args.publish_only:
        train_all()
    for path in publish(Path("samples")):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
