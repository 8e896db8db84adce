"""``wavegen enhance``, ``wavegen evaluate`` and ``wavegen vocode``: the commands that take recordings."""

from __future__ import annotations

import sys
from pathlib import Path

import click


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


@click.command(epilog="""\b
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
    from wavegen.audio.capabilities import Enhancer
    from wavegen.audio.enhance import enhance_files
    from wavegen.core.device import resolve_device
    from wavegen.models import load_for
    from wavegen.progress import seconds_callback
    from wavegen.words import counted

    dev = resolve_device(device)
    model = load_for(checkpoint, Enhancer, device=dev)
    if attenuation_limit != "checkpoint":
        model.attenuation_limit_db = attenuation_limit
    with seconds_callback("enhance") as progress:
        results = enhance_files(model, inputs, output_dir, device=dev, batch_size=batch_size, seed=seed,
                                progress=progress, overwrite=overwrite, precision=precision)
    failed = [r for r in results if r.error]
    for r in failed:
        click.echo(f"error: {r.error}", err=True)
    click.echo(f"enhanced {len(results) - len(failed)} of {counted(len(results), 'file')} into {output_dir}")
    if failed:
        sys.exit(1)


@click.command(epilog="""\b
Example:
  wavegen evaluate --reference data/clean_testset_wav --estimate exp/segan-demo/enhanced --csv scores.csv
""")
@click.option("--reference", required=True, type=click.Path(path_type=Path, file_okay=False), help="Folder of clean reference files.")
@click.option("--estimate", required=True, type=click.Path(path_type=Path, file_okay=False), help="Folder of files to score (matched by name).")
@click.option("--csv", "csv_path", type=click.Path(path_type=Path), help="Write per-file scores here.")
@click.option("--overwrite", is_flag=True, help="Replace the --csv file if it exists (never an input).")
def evaluate(reference, estimate, csv_path, overwrite):
    """Score enhanced speech against clean references.

    Reports PESQ (wide-band), STOI, ESTOI, segmental SNR, LLR, WSS, the
    composite CSIG/CBAK/COVL of Hu & Loizou (2008) and SI-SDR, per file (CSV)
    and as means. Files are matched by relative path. The CSV path is checked
    before any scoring: an existing file is replaced only with --overwrite.
    """
    from wavegen.audio.evaluate import evaluate_folders, format_table
    from wavegen.progress import wrap_iterable

    result = evaluate_folders(reference, estimate, csv_path=csv_path, overwrite=overwrite,
                              progress=wrap_iterable("evaluate"))
    for problem in result.problems:
        click.echo(f"warning: {problem}", err=True)
    click.echo(format_table({estimate.name or str(estimate): result.means}))


@click.command(epilog="""\b
Examples:
  wavegen vocode --checkpoint exp/hifigan-demo/model.safetensors speech.wav -o speech-vocoded.wav
  wavegen vocode --checkpoint exp/hifigan-demo/model.safetensors mel.npy -o speech.wav --overwrite
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
    from wavegen.audio.capabilities import Vocoder
    from wavegen.audio.vocode import ready_to_vocode, vocode_file
    from wavegen.core.device import resolve_device
    from wavegen.models import load_for
    from wavegen.progress import samples_callback

    model = ready_to_vocode(load_for(checkpoint, Vocoder, device=resolve_device(device)))
    with samples_callback("vocode", model.sample_rate) as progress:
        path = vocode_file(model, input_path, output, overwrite=overwrite, seed=seed, progress=progress)
    click.echo(f"wrote {path}")


