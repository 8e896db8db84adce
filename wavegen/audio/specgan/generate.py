"""``wavegen sample`` for SpecGAN and WaveGAN checkpoints: a batch of clips and a picture of them.

    wavegen sample --checkpoint exp/wavegan-demo/model.safetensors -o out/ -n 16 --seed 3

Writes ``sample-seed<seed>-<i>.wav`` (the model's clip length at its sample
rate) and ``grid-seed<seed>.png``, the batch's spectrograms, labelled with what
a classifier hears when one is given. The same seed gives the same files;
nothing already in the output folder is replaced without ``overwrite``
(checked before any generation).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from wavegen.audio.io import write_audio
from wavegen.audio.plots import save_spectrogram_grid
from wavegen.core.sampling import SampleRequest, one_thread, refuse
from wavegen.errors import WavegenError


def check_request(request: SampleRequest) -> None:
    """Refuse options that mean nothing for an unconditional GAN, in one line each."""
    if request.count < 1:
        raise WavegenError(f"-n must be at least 1, got {request.count}")
    refuse(request, ("seconds", "speaker", "mel_from", "temperature", "path", "label", "interpolate"),
           "this model makes fixed-length clips from noise alone")


def write_samples(model, out_dir: str | Path, request: SampleRequest,
                  progress: Callable[[int, int], None] | None = None, classifier=None) -> list[Path]:
    """Generate ``request.count`` clips into ``out_dir`` (wavs and a spectrogram grid); returns the paths."""
    check_request(request)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise WavegenError(f"-o {out_dir}: is a file, not a folder")
    paths = [out_dir / f"sample-seed{request.seed}-{i}.wav" for i in range(request.count)]
    grid = out_dir / f"grid-seed{request.seed}.png"
    existing = [p for p in [*paths, grid] if p.exists()]
    if existing and not request.overwrite:
        raise WavegenError(f"{existing[0]} already exists ({len(existing)} files); use --overwrite to replace, "
                           f"or another -o folder or --seed")
    with one_thread():                       # the same files for a seed, however busy the machine
        audio = model.generate_audio(request.count, request.seed)
    if progress is not None:
        progress(audio.numel(), audio.numel())
    for path, clip in zip(paths, audio):
        write_audio(path, clip.numpy(), model.sample_rate)
    labels = [f"{i}" for i in range(request.count)]
    if classifier is not None:
        probs, _ = classifier.predict(audio)
        labels = [f"{i}: {classifier.labels[k]} ({p:.2f})" for i, (p, k) in enumerate(zip(*probs.max(-1)))]
    shown = min(request.count, 16)
    save_spectrogram_grid(grid, [clip.numpy() for clip in audio[:shown]], model.sample_rate, labels=labels[:shown],
                          title=f"{model.registry_name}, seed {request.seed}")
    return [*paths, grid]
