"""Scores of generated audio clips, always beside the same scores of real held-out clips.

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

import torch

from wavegen.core import scores


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


def evaluate_checkpoint(model, classifier, data: str | Path, *, count: int = 2000, seed: int = 0,
                        splits: int = 10, progress=None) -> list[dict]:
    """``wavegen evaluate-generation``: score a generator checkpoint's clips on a corpus's real clips.

    ``data`` is an SC09 folder (Speech Commands layout; packed into a temporary
    cache first) or a recipe's prepared cache (``exp/<model>-<data>/data``).
    """
    import tempfile

    from wavegen.data.sc09 import SC09Manifest, prepare_sc09
    from wavegen.errors import WavegenError
    if not hasattr(model, "generate_audio"):
        raise WavegenError(f"a {getattr(model, 'registry_name', '?')} checkpoint does not generate clips from "
                           "noise (evaluate-generation scores SpecGAN and WaveGAN checkpoints)")
    if not hasattr(classifier, "predict"):
        raise WavegenError(f"--classifier: a {getattr(classifier, 'registry_name', '?')} checkpoint is not a "
                           "classifier (train one with `wavegen recipe classifier`)")
    data = Path(data)
    with tempfile.TemporaryDirectory(prefix="wavegen-sc09-") as scratch:
        manifest = (SC09Manifest.load(data) if (data / "manifest.json").is_file()
                    else prepare_sc09(data, scratch, progress=progress))
        if tuple(manifest.words) != tuple(classifier.labels):
            raise WavegenError(f"--classifier knows {', '.join(classifier.labels)}, but {data} holds "
                               f"{', '.join(manifest.words)}")
        return evaluate_generation({model.registry_name: model.generate_audio}, classifier,
                                   real_clips(manifest, "test"), real_clips(manifest, "train"), count=count,
                                   seed=seed, splits=splits)


def real_clips(manifest, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(audio (N, T), labels (N,)) of one split of an SC09 cache."""
    return torch.from_numpy(manifest.audio(split)), torch.from_numpy(manifest.labels(split))
