"""Clips from a clip generator (SpecGAN, WaveGAN): ``wavegen sample``, and their scores beside real clips'.

    wavegen sample --checkpoint exp/wavegan-demo/model.safetensors -o out/ -n 16 --seed 3

:func:`write_samples` writes ``sample-seed<seed>-<i>.wav`` (the model's clip
length at its sample rate) and ``grid-seed<seed>.png``, the batch's spectrograms,
labelled with what a classifier hears when one is given. The same seed gives the
same files; nothing already in the output folder is replaced without
``overwrite``, which also removes the rest of an earlier, longer run of the same
seed; more than :data:`~wavegen.core.sampling.MAX_SAMPLES` clips need ``many``
(all checked before any generation).

``wavegen evaluate-generation`` and the SpecGAN/WaveGAN recipes' evaluate stage:
a classifier trained on the real training set (:mod:`wavegen.audio.classifier`)
looks at N generated clips and at the real test clips, and the table gives for
each (:mod:`wavegen.core.scores`):

- the inception score, mean ± std over 10 splits (Donahue et al. 2019 report
  9.18 for real SC09 training clips, 4.12 for WaveGAN, 6.03 for SpecGAN);
- the Fréchet distance of the classifier's features to the real test clips'
  (for the real row: the training clips' distance to the test clips, the floor
  a perfect generator would reach);
- the classifier's accuracy (real clips only) and the share of each class it
  assigns (a generator that makes only "seven"s has a low score and one tall class);
- the median distance of each clip's features to its nearest neighbour among
  the training clips (``nn_train``) and among the other clips of its own set
  (``nn_self``), as Donahue et al. (§6.2) do: a generator that copies its
  training data has ``nn_train`` far below the real test clips', and one that
  collapses onto a few outputs has a small ``nn_self``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import torch

from wavegen.audio.io import write_audio
from wavegen.audio.plots import save_spectrogram_grid
from wavegen.core import scores
from wavegen.core.sampling import SampleFiles, SampleRequest, check_request, one_thread, plan_outputs, refuse


def level(audio: torch.Tensor) -> dict:
    """The audio columns of a row: RMS level (dBFS) and the share of clipped samples."""
    return {"rms_dbfs": float(20 * torch.log10(audio.float().pow(2).mean().sqrt().clamp_min(1e-10))),
            "clipped": float((audio.abs() >= 0.999).float().mean())}


def evaluate_generation(generators, classifier, real_test, real_train, *, count: int = 2000, seed: int = 0,
                        splits: int = 10) -> list[dict]:
    """:func:`wavegen.core.scores.evaluate_generation` on (N, T) clips, each row with its level."""
    return scores.evaluate_generation(generators, classifier, real_test, real_train, count=count, seed=seed,
                                      splits=splits, noun="clips", describe=level)


def format_scores(rows: list[dict]) -> str:
    """The rows as an aligned table, the level columns last."""
    return scores.format_scores(rows, "clips", extra=(("RMS dBFS", lambda r: f"{r['rms_dbfs']:.1f}"),
                                                      ("clipped", lambda r: f"{100 * r['clipped']:.2f}%")))


def real_clips(manifest, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(audio (N, T), labels (N,)) of one split of an SC09 cache."""
    return torch.from_numpy(manifest.audio(split)), torch.from_numpy(manifest.labels(split))


def check_clip_request(request: SampleRequest) -> None:
    """Refuse options that mean nothing for an unconditional GAN, in one line each."""
    check_request(request)
    refuse(request, ("seconds", "speaker", "mel_from", "temperature", "path", "label", "interpolate"),
           "this model makes fixed-length clips from noise alone")


def write_samples(model, out_dir: str | Path, request: SampleRequest,
                  progress: Callable[[int, int], None] | None = None, classifier=None) -> SampleFiles:
    """Generate ``request.count`` clips into ``out_dir`` (wavs and a spectrogram grid); returns the paths."""
    check_clip_request(request)
    clip_bytes = 2 * model.clip_samples                                    # 16-bit WAV
    plan = plan_outputs(out_dir, request, f"sample-seed{request.seed}", ".wav",
                        others=(f"grid-seed{request.seed}.png",), bytes_each=clip_bytes)
    paths, grid = plan.numbered, plan.others[0]
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
    return plan.finish()
