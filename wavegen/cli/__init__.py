"""The ``wavegen`` command. Every command parses its options and calls one library function.

The group and the commands that run recipes and check the installation are
here; the others live beside it by theme (:mod:`wavegen.cli.audio`: enhance,
evaluate, vocode; :mod:`wavegen.cli.generation`: sample, evaluate-generation;
:mod:`wavegen.cli.listen`). Library imports sit inside each command so that
``wavegen --help`` does not load every model.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import logging
import pkgutil
import shutil
import sys
import textwrap
from pathlib import Path

import click

from wavegen.cli import audio, generation, listen
from wavegen.errors import WavegenError
from wavegen.version import __version__
from wavegen.words import counted

EPILOG_RECIPE = """\b
Examples:
  wavegen recipe segan --data demo
  wavegen recipe segan --data voicebank              # from $WAVEGEN_DATA/VoiceBank-DEMAND or ./data/VoiceBank-DEMAND
  wavegen recipe segan --data voicebank --data-root /data/VoiceBank-DEMAND
  wavegen recipe segan --data demo --set train.batch_size=32 --max-steps 500 --device cuda
  wavegen recipe wavenet --data vctk --data-root /data/VCTK-Corpus-0.92 --device cuda
  wavegen recipe wavenet --data ljspeech --data-root /data/LJSpeech-1.1 --set train.batch_size=16
  wavegen recipe classifier --data demo              # the SC09 digit classifier that scores the GANs
  wavegen recipe wavegan --data demo                 # WaveGAN on spoken digits (SpecGAN alike)
  wavegen recipe specgan --data sc09 --data-root /data/speech_commands_v0.02 --device cuda
  wavegen recipe hifigan --data demo                 # HiFi-GAN-style vocoder, ~10 minutes on a CPU
  wavegen recipe hifigan --data ljspeech --data-root /data/LJSpeech-1.1 --device cuda
  wavegen recipe hifigan --data ljspeech --set compare.wavenet=exp/wavenet-ljspeech/model.safetensors
  wavegen recipe vae --data digits                  # images: vae, cvae, ssvae, classifier on the embedded digits
  wavegen recipe ssvae --data mnist --data-root /data/mnist --device cuda
"""


class _Group(click.Group):
    """Turns user errors into one line on stderr and exit code 1 (no traceback)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except WavegenError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="wavegen")
@click.option("-v", "--verbose", is_flag=True, help="Log what each stage is doing.")
def main(verbose: bool) -> None:
    """wavegen: generative audio models — train recipes, enhance recordings, sample, evaluate.

    \b
    Start with the demo (trains SEGAN on a generated corpus, a few minutes on a CPU):
      wavegen recipe segan --data demo
    Then enhance your own recordings with the trained model:
      wavegen enhance --checkpoint exp/segan-demo/model.safetensors noisy.wav -o enhanced/
    Train a small WaveNet on generated speakers and sample from it:
      wavegen recipe wavenet --data demo
      wavegen sample --checkpoint exp/wavenet-demo/model.safetensors -o out/ --speaker p226
    """
    handler = logging.StreamHandler()
    handler.setFormatter(_Lines() if not verbose else logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, handlers=[handler])


class _Lines(logging.Formatter):
    """Warnings as the user reads them on stderr: ``warning: <message>``, like errors."""

    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {record.getMessage()}"


def _recipes() -> dict[str, list[str]]:
    """Each model's dataset recipes, found by name: the recipes sit above the CLI."""
    recipes = importlib.import_module("wavegen.recipes")
    found: dict[str, list[str]] = {}
    for model in pkgutil.iter_modules(recipes.__path__):
        if model.ispkg:
            sub = importlib.util.find_spec(f"wavegen.recipes.{model.name}")
            # A module per dataset; fashion_mnist.py is --data fashion-mnist.
            found[model.name] = sorted(m.name.replace("_", "-")
                                       for m in pkgutil.iter_modules(sub.submodule_search_locations)
                                       if not m.name.startswith("_"))
    return found


def _description(model: str, dataset: str) -> str:
    """A recipe module's summary line (its docstring's first paragraph), read from the source, nothing run."""
    spec = importlib.util.find_spec(f"wavegen.recipes.{model}.{dataset.replace('-', '_')}")
    docstring = ast.get_docstring(ast.parse(Path(spec.origin).read_text(encoding="utf-8"))) or ""
    return " ".join(docstring.split("\n\n")[0].split())


def recipe_table(models: list[str] | None = None) -> str:
    """Every model × dataset recipe, one row each with its docstring's summary, wrapped to the terminal."""
    available = _recipes()
    rows = [(model, dataset) for model in models or sorted(available) for dataset in available[model]]
    model_width = max(len("MODEL"), *(len(model) for model, _ in rows)) + 2
    data_width = max(len("--data"), *(len(dataset) for _, dataset in rows)) + 2
    indent = " " * (model_width + data_width)
    width = max(60, shutil.get_terminal_size((100, 24)).columns)
    lines = [f"{'MODEL':<{model_width}}{'--data':<{data_width}}WHAT IT TRAINS"]
    for model, dataset in rows:
        lines.extend(textwrap.wrap(_description(model, dataset), width=width, break_on_hyphens=False,
                                   initial_indent=f"{model:<{model_width}}{dataset:<{data_width}}",
                                   subsequent_indent=indent))
    return "\n".join(lines)


@main.command(epilog=EPILOG_RECIPE)
@click.argument("model", required=False)
@click.option("--data", "dataset", help="Dataset recipe: e.g. voicebank, or demo (generated, no download); "
                                        "--list shows each model's.")
@click.option("--list", "show_list", is_flag=True,
              help="List every recipe (model and --data) with a line on what it trains, and exit; "
                   "with MODEL, that model's.")
@click.option("--data-root", type=click.Path(path_type=Path),
              help="Where the real dataset lies [default: $WAVEGEN_DATA/<corpus>, then ./data/<corpus>, where "
                   "<corpus> is VoiceBank-DEMAND, VCTK-Corpus-0.92, LJSpeech-1.1, speech_commands_v0.02, mnist, "
                   "fashion-mnist, cifar-10-batches-py or images].")
@click.option("--exp-dir", type=click.Path(path_type=Path), help="Experiment folder [default: exp/MODEL-DATA].")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a config value, e.g. --set train.batch_size=32 (repeatable).")
@click.option("--max-steps", type=click.IntRange(min=1), help="Training steps (same as --set train.max_steps=N).")
@click.option("--device", type=click.Choice(["cpu", "cuda", "auto"]), help="Where to train and run the model.")
def recipe(model, dataset, show_list, data_root, exp_dir, overrides, max_steps, device):
    """Run a training recipe end to end: prepare data, train, enhance/generate, evaluate, write samples.

    MODEL and --data name the recipe; `wavegen recipe --list` shows them all.
    Stages resume and skip finished work: run the same command again to
    continue an interrupted run. Everything lands in one experiment folder
    (config.json, checkpoints/, logs/, results, samples/); `wavegen publish`
    copies the samples elsewhere. The corpus and every --set value are checked
    before anything is written.
    """
    available = _recipes()
    if model is not None and model not in available:
        raise WavegenError(f"no recipes for model {model!r} (available: {', '.join(sorted(available))}; "
                           "`wavegen recipe --list` describes them)")
    if show_list:
        click.echo(recipe_table([model] if model else None))
        return
    if model is None or dataset is None:
        raise WavegenError("give a MODEL and --data, e.g. `wavegen recipe segan --data demo` "
                           "(`wavegen recipe --list` shows every recipe)")
    if dataset not in available[model]:
        raise WavegenError(f"no {model} recipe for data {dataset!r} (available: {', '.join(available[model])})")
    module = importlib.import_module(f"wavegen.recipes.{model}.{dataset.replace('-', '_')}")
    overrides = list(overrides)
    if max_steps is not None:
        overrides.append(f"train.max_steps={max_steps}")
    if device is not None:
        overrides.append(f"train.device={device}")
    exp_dir = exp_dir or Path("exp") / f"{model}-{dataset}"
    report = module.run(exp_dir=exp_dir, data_root=data_root, overrides=overrides)
    if report:
        click.echo(report)


@main.command(epilog="""\b
Example:
  wavegen publish exp/segan-demo samples/segan-demo --overwrite
""")
@click.argument("exp_dir", type=click.Path(path_type=Path, file_okay=False))
@click.argument("destination", type=click.Path(path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace files already at DESTINATION.")
def publish(exp_dir, destination, overwrite):
    """Copy a finished experiment's samples/ folder to DESTINATION (e.g. the repository's samples/).

    Nothing already at DESTINATION is replaced without --overwrite.
    """
    from wavegen.core.experiment import publish_samples

    copied = publish_samples(exp_dir, destination, overwrite=overwrite)
    click.echo(f"published {counted(len(copied), 'file')} into {destination}")


@main.command()
def doctor():
    """Check the installation: every compiled dependency, exercised as wavegen uses it.

    Prints one line per check (package versions against wavegen's pins, torch,
    torchaudio, soundfile, pesq, pystoi, espeak-ng, the fused WaveNet CPU
    kernel); exits 1 if anything is broken, with the fix.
    """
    from wavegen.doctor import failures, run_checks

    checks = run_checks()
    for check in checks:
        click.echo(check.line())
    broken = failures(checks)
    for line in broken:
        click.echo(f"error: {line}", err=True)
    if broken:
        sys.exit(1)


for command in (audio.enhance, audio.evaluate, audio.vocode, generation.evaluate_generation, generation.sample,
                listen.listen):
    main.add_command(command)
