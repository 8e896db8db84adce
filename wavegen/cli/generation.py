"""``wavegen sample`` and ``wavegen evaluate-generation``: drawing from generators and scoring what they draw."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("evaluate-generation", epilog="""\b
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
@click.option("--splits", type=click.IntRange(min=1), default=10, show_default=True,
              help="Inception score splits (at most -n, and at most the real test examples).")
@click.option("--json", "json_path", type=click.Path(path_type=Path), help="Also write the rows as JSON here.")
@click.option("--overwrite", is_flag=True, help="Replace the --json file if it exists.")
@click.option("--device", type=click.Choice(["cpu", "cuda", "auto"]), default="auto", show_default=True)
def evaluate_generation(checkpoint, classifier, data, count, seed, splits, json_path, overwrite, device):
    """Score a generator's clips or images beside real held-out ones, through a classifier.

    Prints, for real test and training examples and for generated ones: the
    inception score (mean ± std over splits; near the number of classes for
    real data), the Fréchet distance of the classifier's features to the real
    test examples', the classifier's accuracy (real examples), the median
    distance to the nearest training example (much below the real ones': the
    model copies) and to the nearest example of the same set (small: the model
    collapsed), and for clips their level. The options, the --json file (never
    replaced without --overwrite) and the size of the real sets are checked
    before anything is scored.
    """
    from wavegen.commands.generation import evaluate_generation as score
    from wavegen.core.device import resolve_device
    from wavegen.progress import wrap_iterable

    _, table = score(checkpoint, classifier, data, count=count, seed=seed, splits=splits,
                     device=resolve_device(device), progress=wrap_iterable("prepare data"),
                     json_path=json_path, overwrite=overwrite)
    click.echo(table)


@click.command(epilog="""\b
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
@click.option("-n", "count", type=int,
              help="How many samples to generate (one batch) [default: 1 sound, 64 images, a walk of 10].")
@click.option("--seconds", type=float, help="Length of each sample [default: 1 s, or the --mel-from file's length].")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random draws: same seed, same samples.")
@click.option("--temperature", type=float, default=1.0, show_default=True,
              help="A positive number: below 1 sharpens the output distribution (latent models: scales the "
                   "prior draws); file names carry it when it is not 1.")
@click.option("--speaker", help="Speaker name (as in the training data) or index, for speaker-conditioned models.")
@click.option("--mel-from", type=click.Path(path_type=Path), help="Vocode this recording's mel frames (mel-conditioned models).")
@click.option("--path", "sampling_path", type=click.Choice(["reference", "plain", "cached", "fused"]),
              help="Sampling implementation; all give the same samples for the same seed. WaveNet: reference, "
                   "cached or fused [fused]; PixelCNN: plain or cached [cached].")
@click.option("--class", "label", help="Class name or index, for class-conditional image models.")
@click.option("--interpolate", nargs=2, metavar="A B",
              help="A latent walk of -n images from A to B: two seeds, or two image files (encoded; VAEs).")
@click.option("--device", type=click.Choice(["cpu", "cuda", "auto"]), default="auto", show_default=True)
@click.option("--overwrite", is_flag=True,
              help="Replace files of the same name in the output folder, and remove the rest of an earlier, "
                   "longer run of the same name (its files numbered beyond this run's -n).")
@click.option("--many", is_flag=True,
              help="Allow a run of more than 1000 samples or an estimated 1 GB of output (refused without it).")
def sample(checkpoint, output_dir, count, seconds, seed, temperature, speaker, mel_from, sampling_path, label,
           interpolate, device, overwrite, many):
    """Generate audio or images from a trained generative model's checkpoint.

    For WaveNet: autoregressive sampling through the fused kernel by default
    (a compiled CPU loop, or one Triton launch on CUDA); `reference` and
    `cached` are the plain PyTorch paths it is checked against. The progress
    bar shows samples per second and the real-time factor. File names say what
    made them (speaker, vocoded recording or class, seed, and the temperature
    when it is not 1); nothing already in the output folder is replaced without
    --overwrite, and a run of more than 1000 samples or an estimated 1 GB needs
    --many (both checked before any sampling).

    For image models (VAEs, GANs, PixelCNN): a PNG grid and one PNG per image;
    --class picks the class of a conditional model (every class, a row each,
    when left out), --interpolate walks the latent space.
    """
    from wavegen.commands.generation import sample as write_samples
    from wavegen.core.capabilities import Sampler
    from wavegen.core.device import resolve_device
    from wavegen.core.sampling import SampleRequest, check_request
    from wavegen.models import load_for
    from wavegen.progress import samples_callback
    from wavegen.words import counted

    request = SampleRequest(count=count, seconds=seconds,
                            seed=seed, temperature=temperature, speaker=speaker, mel_from=mel_from, path=sampling_path,
                            label=label, interpolate=tuple(interpolate) if interpolate else None,
                            overwrite=overwrite, many=many)
    check_request(request)
    model = load_for(checkpoint, Sampler, device=resolve_device(device))
    with samples_callback("sample", getattr(model, "sample_rate", None)) as progress:
        paths = write_samples(model, output_dir, request, progress=progress)
    click.echo(f"wrote {counted(len(paths), 'file')} into {output_dir}")
    removed = getattr(paths, "removed", [])
    if removed:
        shown = ", ".join(p.name for p in removed[:3]) + (", ..." if len(removed) > 3 else "")
        click.echo(f"removed {counted(len(removed), 'file')} of the earlier run of that name ({shown})")


