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

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from wavegen.core.scores import frechet_distance, inception_score, nearest_neighbour_distances


def _self_distances(features: torch.Tensor) -> torch.Tensor:
    """Each row's distance to its nearest *other* row."""
    distances = torch.cdist(features.double(), features.double())
    distances.fill_diagonal_(float("inf"))
    return distances.min(dim=1).values.float()


def score_clips(name: str, audio: torch.Tensor, classifier, *, reference_features: torch.Tensor,
                train_features: torch.Tensor, labels: torch.Tensor | None = None, splits: int = 10,
                train_rows: torch.Tensor | None = None) -> dict:
    """One table row: scores of (N, T) ``audio`` judged by ``classifier`` against real features.

    ``train_rows`` says which training clips ``audio`` is (for a row of real
    training clips), so each one's nearest training neighbour is another clip.
    """
    probs, features = classifier.predict(audio)
    mean, std = inception_score(probs, splits)
    shares = np.bincount(probs.argmax(-1).numpy(), minlength=probs.shape[1]) / probs.shape[0]
    if train_rows is None:
        nn_train = nearest_neighbour_distances(features, train_features)[0]
    else:
        distances = torch.cdist(features.double(), train_features.double())
        distances[torch.arange(len(train_rows)), train_rows] = float("inf")
        nn_train = distances.min(dim=1).values
    row = {"name": name, "clips": int(audio.shape[0]), "inception_score": mean, "inception_std": std,
           "frechet": frechet_distance(features, reference_features),
           "nn_train": float(nn_train.median()), "nn_self": float(_self_distances(features).median()),
           "class_shares": [round(float(s), 4) for s in shares],
           "rms_dbfs": float(20 * torch.log10(audio.float().pow(2).mean().sqrt().clamp_min(1e-10))),
           "clipped": float((audio.abs() >= 0.999).float().mean())}
    if labels is not None:
        row["accuracy"] = float((probs.argmax(-1) == labels).float().mean())
    return row


def evaluate_generation(generators: dict[str, Callable[[int, int], torch.Tensor]], classifier,
                        real_test: tuple[torch.Tensor, torch.Tensor], real_train: tuple[torch.Tensor, torch.Tensor],
                        *, count: int = 2000, seed: int = 0, splits: int = 10) -> list[dict]:
    """Rows for real test clips, real training clips and each named ``generators[name](count, seed)``.

    ``real_test`` and ``real_train`` are (audio, labels). The inception score
    and the neighbour distances grow with the number of clips they see, so the
    training row takes ``count`` clips (a seeded draw; all if fewer), as many as
    each generator makes: that row is the one to compare generators with (it is
    the paper's "real data" row). The test row shows how the classifier does on
    clips it never saw (accuracy) and how far unseen real clips lie from the
    training set (``nn_train``). Fréchet distances are to the test clips' features
    (for the test row itself, the training clips' distance to them).
    """
    test_audio, test_labels = real_test
    train_audio, train_labels = real_train
    _, test_features = classifier.predict(test_audio)
    _, train_features = classifier.predict(train_audio)
    rows = [score_clips("real test clips", test_audio, classifier, reference_features=train_features,
                        train_features=train_features, labels=test_labels, splits=splits)]
    picked = torch.randperm(train_audio.shape[0], generator=torch.Generator().manual_seed(seed))[:count]
    rows.append(score_clips("real training clips", train_audio[picked], classifier,
                            reference_features=test_features, train_features=train_features,
                            labels=train_labels[picked], splits=splits, train_rows=picked))
    for name, generate in generators.items():
        rows.append(score_clips(name, generate(count, seed), classifier, reference_features=test_features,
                                train_features=train_features, splits=splits))
    return rows


def format_scores(rows: list[dict]) -> str:
    """The rows as an aligned table (inception score, Fréchet distance, accuracy, neighbours, level)."""
    width = max(len(r["name"]) for r in rows)
    lines = [f"{'clips':<{width}}  {'n':>5}  {'inception score':>15}  {'Frechet':>8}  {'accuracy':>8}  "
             f"{'nn_train':>8}  {'nn_self':>8}  {'RMS dBFS':>8}  {'clipped':>7}"]
    for r in rows:
        accuracy = f"{r['accuracy']:8.3f}" if "accuracy" in r else f"{'-':>8}"
        lines.append(f"{r['name']:<{width}}  {r['clips']:>5}  {r['inception_score']:8.2f} ± {r['inception_std']:4.2f}"
                     f"  {r['frechet']:8.2f}  {accuracy}  {r['nn_train']:8.3f}  {r['nn_self']:8.3f}"
                     f"  {r['rms_dbfs']:8.1f}  {100 * r['clipped']:6.2f}%")
    return "\n".join(lines)


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
