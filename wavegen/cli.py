"""The ``wavegen`` command. Every command parses its options and calls one library function."""

from __future__ import annotations

import importlib
import logging
import pkgutil
import sys
from pathlib import Path

import click

from wavegen import __version__
from wavegen.errors import WavegenError

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
  wavegen recipe vocoder --data demo                 # HiFi-GAN-style vocoder, ~10 minutes on a CPU
  wavegen recipe vocoder --data ljspeech --data-root /data/LJSpeech-1.1 --device cuda
  wavegen recipe vocoder --data ljspeech --set compare.wavenet=exp/wavenet-ljspeech/model.safetensors
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
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")


def _recipes() -> dict[str, list[str]]:
    import wavegen.recipes as recipes
    found: dict[str, list[str]] = {}
    for model in pkgutil.iter_modules(recipes.__path__):
        if model.ispkg:
            sub = importlib.import_module(f"wavegen.recipes.{model.name}")
            # A module per dataset; fashion_mnist.py is --data fashion-mnist.
            found[model.name] = sorted(m.name.replace("_", "-") for m in pkgutil.iter_modules(sub.__path__)
                                       if not m.name.startswith("_"))
    return found


@main.command(epilog=EPILOG_RECIPE)
@click.argument("model")
@click.option("--data", "dataset", required=True, help="Dataset recipe: e.g. voicebank, or demo (generated, no download).")
@click.option("--data-root", type=click.Path(path_type=Path),
              help="Where the real dataset lies [default: $WAVEGEN_DATA/<corpus>, then ./data/<corpus>, where "
                   "<corpus> is VoiceBank-DEMAND, VCTK-Corpus-0.92, LJSpeech-1.1, speech_commands_v0.02, mnist, "
                   "fashion-mnist, cifar-10-batches-py or images].")
@click.option("--exp-dir", type=click.Path(path_type=Path), help="Experiment folder [default: exp/MODEL-DATA].")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a config value, e.g. --set train.batch_size=32 (repeatable).")
@click.option("--max-steps", type=click.IntRange(min=1), help="Training steps (same as --set train.max_steps=N).")
@click.option("--device", type=click.Choice(["cpu", "cuda", "auto"]), help="Where to train and run the model.")
def recipe(model, dataset, data_root, exp_dir, overrides, max_steps, device):
    """Run a training recipe end to end: prepare data, train, enhance/generate, evaluate, write samples.

    Stages resume and skip finished work: run the same command again to
    continue an interrupted run. Everything lands in one experiment folder
    (config.json, checkpoints/, logs/, results, samples/); `wavegen publish`
    copies the samples elsewhere. The corpus and every --set value are checked
    before anything is written.
    """
    available = _recipes()
    if model not in available:
        raise WavegenError(f"no recipes for model {model!r} (available: {', '.join(sorted(available))})")
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


def _attenuation_limit(value: str | None) -> float | None | str:
    """--attenuation-limit: a positive number of dB, "none", or (not given) "checkpoint"."""
    if value is None:
        return "checkpoint"
    if value.lower() == "none":
        return None
    try:
        limit = float(value)
    except ValueError:
        limit = float("nan")
    if not (limit > 0 and limit < float("inf")):
        raise click.BadParameter(f"expected a positive number of dB or 'none', got {value!r}")
    return limit


@main.command(epilog="""\b
Examples:
  wavegen enhance --checkpoint exp/segan-demo/model.safetensors noisy.wav -o enhanced/
  wavegen enhance --checkpoint model.safetensors recordings/ more.flac -o out/ --device cuda
  wavegen enhance -c model.safetensors noisy.wav -o raw/ --attenuation-limit none
""")
@click.option("--checkpoint", "-c", required=True, type=click.Path(path_type=Path), help="A trained SEGAN checkpoint (.safetensors).")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output-dir", required=True, type=click.Path(path_type=Path), help="Folder for the enhanced files.")
@click.option("--device", type=click.Choice(["cpu", "cuda", "auto"]), default="auto", show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True,
              help="Windows per generator call (several short files share one).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the generator's latent noise.")
@click.option("--precision", type=click.Choice(["auto", "float32", "bfloat16"]), default="auto", show_default=True,
              help="Generator arithmetic. auto: bfloat16 on CPUs that compute it natively (AVX512-BF16, AMX; "
                   "about twice as fast, output within about -40 dB of float32's), float32 elsewhere.")
@click.option("--attenuation-limit", metavar="DB|none", callback=lambda ctx, param, value: _attenuation_limit(value),
              help="Attenuate the input by at most DB decibels: that share of it is mixed back into the "
                   "output. Default: the checkpoint's own (chosen on validation by the recipe, or none); "
                   "'none' gives the generator's output alone.")
@click.option("--overwrite", is_flag=True, help="Replace enhanced files already in the output folder (never an input).")
def enhance(checkpoint, inputs, output_dir, device, batch_size, seed, precision, attenuation_limit, overwrite):
    """Enhance noisy speech files (wav, flac, ogg; any rate, channels and length).

    INPUTS are files or folders (searched recursively). Outputs keep each
    input's format, sample rate, channel count and length; folder structure is
    kept under OUTPUT_DIR. Inputs are never overwritten, and existing outputs
    only with --overwrite (checked before any work). A bad file is reported on
    one line and the others are still processed; the exit code is 1 if any failed.
    """
    import wavegen
    from wavegen.core.trainer import resolve_device
    from wavegen.progress import seconds_callback

    from wavegen.audio.enhance import check_enhancement_model

    dev = resolve_device(device)
    model = wavegen.load(checkpoint, device=dev)
    try:
        check_enhancement_model(model)
    except WavegenError as exc:
        raise WavegenError(f"{checkpoint}: {exc}") from None
    if attenuation_limit != "checkpoint":
        model.attenuation_limit_db = attenuation_limit
    with seconds_callback("enhance") as progress:
        results = wavegen.enhance_files(model, inputs, output_dir, device=dev, batch_size=batch_size,
                                        seed=seed, progress=progress, overwrite=overwrite, precision=precision)
    failed = [r for r in results if r.error]
    for r in failed:
        click.echo(f"error: {r.error}", err=True)
    click.echo(f"enhanced {len(results) - len(failed)} of {len(results)} files into {output_dir}")
    if failed:
        sys.exit(1)


@main.command(epilog="""\b
Example:
  wavegen evaluate --reference data/clean_testset_wav --estimate exp/segan-demo/enhanced --csv scores.csv
""")
@click.option("--reference", required=True, type=click.Path(path_type=Path, file_okay=False), help="Folder of clean reference files.")
@click.option("--estimate", required=True, type=click.Path(path_type=Path, file_okay=False), help="Folder of files to score (matched by name).")
@click.option("--csv", "csv_path", type=click.Path(path_type=Path), help="Write per-file scores here.")
def evaluate(reference, estimate, csv_path):
    """Score enhanced speech against clean references.

    Reports PESQ (wide-band), STOI, ESTOI, segmental SNR, LLR, WSS, the
    composite CSIG/CBAK/COVL of Hu & Loizou (2008) and SI-SDR, per file (CSV)
    and as means. Files are matched by relative path.
    """
    from wavegen.audio.evaluate import evaluate_folders, format_table
    from wavegen.progress import wrap_iterable

    result = evaluate_folders(reference, estimate, csv_path=csv_path, progress=wrap_iterable("evaluate"))
    for problem in result.problems:
        click.echo(f"warning: {problem}", err=True)
    click.echo(format_table({estimate.name or str(estimate): result.means}))


@main.command("evaluate-generation", epilog="""\b
Examples:
  wavegen evaluate-generation --checkpoint exp/wavegan-demo/model.safetensors \\
      --classifier exp/classifier-demo/model.safetensors --data exp/wavegan-demo/data
  wavegen evaluate-generation -c specgan.safetensors --classifier classifier.safetensors \\
      --data /data/speech_commands_v0.02 -n 2000 --json scores.json
  wavegen evaluate-generation -c exp/dcgan-digits/model.safetensors \\
      --classifier exp/classifier-digits/model.safetensors --data exp/dcgan-digits/data
""")
@click.option("--checkpoint", "-c", required=True, type=click.Path(path_type=Path),
              help="A generator: SpecGAN or WaveGAN (clips), or an image VAE, GAN or PixelCNN (images).")
@click.option("--classifier", required=True, type=click.Path(path_type=Path),
              help="The classifier of the same data (from `wavegen recipe classifier --data ...`).")
@click.option("--data", "data", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="The real examples: a dataset folder (SC09; MNIST, CIFAR-10 or image folders) "
                   "or a recipe's prepared data/ folder.")
@click.option("-n", "count", type=click.IntRange(min=10),
              help="Generated examples to score, and real training examples scored beside them "
                   "[default: 2000 clips, 1000 images].")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random draws.")
@click.option("--splits", type=click.IntRange(min=1), default=10, show_default=True, help="Inception score splits.")
@click.option("--json", "json_path", type=click.Path(path_type=Path), help="Also write the rows as JSON here.")
@click.option("--device", type=click.Choice(["cpu", "cuda", "auto"]), default="auto", show_default=True)
def evaluate_generation(checkpoint, classifier, data, count, seed, splits, json_path, device):
    """Score a generator's clips or images beside real held-out ones, through a classifier.

    Prints, for real test and training examples and for generated ones: the
    inception score (mean ± std over splits; near the number of classes for
    real data), the Fréchet distance of the classifier's features to the real
    test examples', the classifier's accuracy (real examples), the median
    distance to the nearest training example (much below the real ones': the
    model copies) and to the nearest example of the same set (small: the model
    collapsed), and for clips their level.
    """
    import wavegen
    from wavegen.core.files import write_json_atomic
    from wavegen.core.trainer import resolve_device
    from wavegen.progress import wrap_iterable

    dev = resolve_device(device)
    model, judge = wavegen.load(checkpoint, device=dev), wavegen.load(classifier, device=dev)
    if hasattr(model, "generate_audio"):
        from wavegen.audio.generation import evaluate_checkpoint, format_scores
        count = count or 2000
    else:
        from wavegen.vision.evaluate import evaluate_checkpoint
        from wavegen.vision.evaluate import format_image_scores as format_scores
        count = count or 1000
    rows = evaluate_checkpoint(model, judge, data, count=count, seed=seed, splits=splits,
                               progress=wrap_iterable("prepare data"))
    if json_path is not None:
        write_json_atomic(json_path, rows)
    click.echo(format_scores(rows))


@main.command(epilog="""\b
Examples:
  wavegen sample --checkpoint exp/wavenet-demo/model.safetensors -o samples/ --seconds 2 -n 4 --speaker p226
  wavegen sample --checkpoint vocoder.safetensors -o out/ --mel-from speech.wav --path cached
  wavegen sample --checkpoint model.safetensors -o out/ --device cuda -n 64 --temperature 0.9
  wavegen sample --checkpoint exp/vae-digits/model.safetensors -o out/ -n 64 --seed 1
  wavegen sample --checkpoint exp/cvae-digits/model.safetensors -o out/ --class 7
  wavegen sample --checkpoint exp/vae-digits/model.safetensors -o out/ --interpolate 3 8 -n 10
  wavegen sample --checkpoint exp/vae-digits/model.safetensors -o out/ --interpolate one.png other.png
""")
@click.option("--checkpoint", "-c", required=True, type=click.Path(path_type=Path), help="A trained generative model (.safetensors).")
@click.option("-o", "--output-dir", required=True, type=click.Path(path_type=Path), help="Folder for the generated files.")
@click.option("-n", "count", type=int, help="How many samples to generate (one batch) [default: 1 sound, 64 images].")
@click.option("--seconds", type=float, help="Length of each sample [default: 1 s, or the --mel-from file's length].")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random draws: same seed, same samples.")
@click.option("--temperature", type=float, default=1.0, show_default=True, help="Below 1 sharpens the output distribution.")
@click.option("--speaker", help="Speaker name (as in the training data) or index, for speaker-conditioned models.")
@click.option("--mel-from", type=click.Path(path_type=Path), help="Vocode this recording's mel frames (mel-conditioned models).")
@click.option("--path", "sampling_path", type=click.Choice(["reference", "plain", "cached", "fused"]),
              help="Sampling implementation; all give the same samples for the same seed. WaveNet: reference, "
                   "cached or fused [fused]; PixelCNN: plain or cached [cached].")
@click.option("--class", "label", help="Class name or index, for class-conditional image models.")
@click.option("--interpolate", nargs=2, metavar="A B",
              help="A latent walk of -n images from A to B: two seeds, or two image files (encoded; VAEs).")
@click.option("--device", type=click.Choice(["cpu", "cuda", "auto"]), default="auto", show_default=True)
@click.option("--overwrite", is_flag=True, help="Replace files of the same name in the output folder.")
def sample(checkpoint, output_dir, count, seconds, seed, temperature, speaker, mel_from, sampling_path, label,
           interpolate, device, overwrite):
    """Generate audio or images from a trained generative model's checkpoint.

    For WaveNet: autoregressive sampling through the fused kernel by default
    (a compiled CPU loop, or one Triton launch on CUDA); `reference` and
    `cached` are the plain PyTorch paths it is checked against. The progress
    bar shows samples per second and the real-time factor. File names say what
    made them (speaker or vocoded recording, seed, temperature); nothing already
    in the output folder is replaced without --overwrite.

    For image models (VAE, CVAE, semi-supervised VAE): a PNG grid and one PNG
    per image; --class picks the class of a conditional model (every class, a
    row each, when left out), --interpolate walks the latent space.
    """
    import wavegen
    from wavegen.core.registry import sampler_module
    from wavegen.core.sampling import SampleRequest
    from wavegen.core.trainer import resolve_device
    from wavegen.progress import samples_callback

    model = wavegen.load(checkpoint, device=resolve_device(device))
    name = getattr(model, "registry_name", "?")
    module = sampler_module(name)
    if module is None:
        hint = " (use `wavegen enhance`)" if hasattr(model, "enhance_windows") else ""
        raise WavegenError(f"{checkpoint}: a {name} checkpoint is not a generative model that can be sampled{hint}")
    if count is None:         # each sampler's own default: one sound, a grid of images, a walk of ten
        count = getattr(module, "DEFAULT_STEPS" if interpolate else "DEFAULT_COUNT", 1)
    request = SampleRequest(count=count, seconds=seconds,
                            seed=seed, temperature=temperature, speaker=speaker, mel_from=mel_from, path=sampling_path,
                            label=label, interpolate=tuple(interpolate) if interpolate else None,
                            overwrite=overwrite)
    with samples_callback("sample", getattr(model, "sample_rate", None)) as progress:
        paths = module.write_samples(model, output_dir, request, progress=progress)
    click.echo(f"wrote {len(paths)} files into {output_dir}")


@main.command(epilog="""\b
Examples:
  wavegen vocode --checkpoint exp/vocoder-demo/model.safetensors speech.wav -o speech-vocoded.wav
  wavegen vocode --checkpoint exp/vocoder-demo/model.safetensors mel.npy -o speech.wav --overwrite
  wavegen vocode --checkpoint exp/wavenet-ljspeech/model.safetensors speech.wav -o slow.wav --seed 1
""")
@click.option("--checkpoint", "-c", required=True, type=click.Path(path_type=Path),
              help="A GAN vocoder or a mel-conditioned WaveNet checkpoint (.safetensors).")
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help="The audio file to write (.wav, .flac, .ogg).")
@click.option("--device", type=click.Choice(["cpu", "cuda", "auto"]), default="auto", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of WaveNet's random draws (the GAN vocoder draws none).")
@click.option("--overwrite", is_flag=True, help="Replace OUTPUT if it exists (never the input).")
def vocode(checkpoint, input_path, output, device, seed, overwrite):
    """Turn log-mel frames into a waveform: INPUT is a recording at the vocoder's rate or a .npy of frames.

    A recording's frames are computed as in training (80 log-mels, hop 256 at
    22.05 kHz for the LJSpeech vocoders) and the output has its length; a .npy
    holds frames shaped (n_mels, frames) or (1, n_mels, frames) and gives
    frames x hop samples. Works with GAN vocoder and mel-conditioned WaveNet
    checkpoints alike. The output is written atomically, never over the input,
    and replaces an existing file only with --overwrite.
    """
    from wavegen.audio.specgan.vocode import load_vocoder, vocode_file
    from wavegen.core.trainer import resolve_device
    from wavegen.progress import samples_callback

    model = load_vocoder(checkpoint, device=resolve_device(device))
    with samples_callback("vocode", model.sample_rate) as progress:
        path = vocode_file(model, input_path, output, overwrite=overwrite, seed=seed, progress=progress)
    click.echo(f"wrote {path}")


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
    click.echo(f"published {len(copied)} files into {destination}")


@main.command(epilog="""\b
Examples:
  wavegen listen samples/                          # MUSHRA test of the committed samples, on 127.0.0.1:8000
  wavegen listen samples/ --type ab                # AB preference between every two systems of an item
  wavegen listen samples/ --type abx               # can listeners tell those two systems apart?
  wavegen listen test.yaml --results listen-results/my-test
  wavegen listen samples/ --host 0.0.0.0 --participant ana --participant ben   # links with tokens
  wavegen listen --report listen-results/samples-mushra     # means, 95 % intervals, screening, plot, CSV
  wavegen listen samples/ --gallery -o gallery/             # static page: a player and spectrogram per file
""")
@click.argument("source", required=False, type=click.Path(path_type=Path, exists=True))
@click.option("--type", "kind", type=click.Choice(["mushra", "acr", "ab", "abx"]),
              help="Test type [default: the test file's, or mushra for a samples folder].")
@click.option("--results", type=click.Path(path_type=Path, file_okay=False),
              help="Where the test's stimuli and answers live [default: listen-results/NAME-TYPE]. "
                   "Run the same command again to continue a test.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to serve on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port to serve on.")
@click.option("--mid-anchor", is_flag=True, help="MUSHRA: add the optional 7 kHz low-pass anchor.")
@click.option("--participant", "participants", multiple=True, metavar="ID",
              help="Print this participant's link (with its token; required beyond 127.0.0.1). Repeatable.")
@click.option("--report", "report_on", type=click.Path(path_type=Path, exists=True), metavar="RESULTS",
              help="Report on a results folder or an answers CSV instead of serving a test.")
@click.option("--gallery", is_flag=True, help="Write a static HTML page of SOURCE (a samples folder) instead.")
@click.option("-o", "--out", type=click.Path(path_type=Path, file_okay=False),
              help="Folder for --report or --gallery output [default: the results folder; gallery/ for --gallery].")
def listen(source, kind, results, host, port, mid_anchor, participants, report_on, gallery, out):
    """Run a listening test (MUSHRA, ACR/MOS, AB or ABX) in the browser, report on one, or write a gallery.

    SOURCE is a samples folder (files named ITEM_SYSTEM.wav; the system
    clean, original or reference is the item's reference), a test file
    (YAML or JSON) or a results folder to continue. Every answer is stored in
    RESULTS/answers.sqlite the moment it is given; a participant who comes back
    with the same id continues where they stopped.
    """
    from wavegen import listen as listening
    if report_on is not None:
        text, written = listening.write_report(report_on, out)
        click.echo(text)
        click.echo(f"wrote {', '.join(str(p) for p in written)}")
        return
    if source is None:
        raise WavegenError("give a samples folder, a test file or a results folder (or --report RESULTS)")
    if gallery:
        from wavegen.listen.gallery import write_gallery
        click.echo(f"wrote {write_gallery(source, out or Path('gallery'))}")
        return
    from wavegen.listen.server import is_loopback, participant_token, serve
    test = listening.open_test(source, kind=kind, results=results, mid_anchor=mid_anchor)
    private = is_loopback(host)
    if not private and not participants:
        raise WavegenError(f"--host {host} serves beyond this machine: give --participant ID for each participant "
                           f"(each gets a link with its own token)")
    import socket
    url = f"http://{socket.getfqdn() if host in ('0.0.0.0', '::') else host}:{port}/"
    click.echo(f"{test.type.upper()} test {test.name!r}: {len(test.trials)} trials; answers in {test.database}")
    if not private:
        click.echo(f"warning: serving on {host}, reachable from other machines; only links with a token work",
                   err=True)
    from urllib.parse import urlencode
    for participant in participants:
        query = {"participant": participant, **({} if private else
                                                {"token": participant_token(test.secret, participant)})}
        click.echo(f"  {participant}: {url}?{urlencode(query)}")
    click.echo(f"open {url} in a browser (Ctrl-C stops; run the same command again to continue)")
    serve(test, host, port, require_token=not private)


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


if __name__ == "__main__":
    main()
