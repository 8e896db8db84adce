"""Scores of a generator through a classifier: inception score, Fréchet distance, nearest neighbours.

Nothing here knows what the examples are (audio clips or images): each score
takes a classifier's class probabilities or features.

- **Inception score** (Salimans et al. 2016, §4): exp(E_x KL(p(y|x) ‖ p(y))),
  computed on ``splits`` equal parts (of a fixed shuffle of the examples) and
  reported as mean ± std over them, as Salimans et al. and Donahue et al.
  (2019, 10 splits) do. It lies between 1
  (every example gets the same prediction) and the number of classes
  (confident predictions spread evenly over the classes).
- **Fréchet distance** (Heusel et al. 2017, eq. 6) between Gaussians fitted to
  two sets of features: ‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2 (Σ₁Σ₂)^½).
- **Nearest-neighbour distance**: for each example, the Euclidean distance to
  its nearest neighbour in a reference set (e.g. the training set). Generated
  examples much nearer the training set than real held-out examples are would
  be copies.

Few examples: :func:`inception_score` refuses more splits than examples (a
one-line ``ValueError``); :func:`evaluate_generation` instead gives each row
at most one split per example, records the splits it used in the row
(``splits``) and :func:`format_scores` says so under the table. The Fréchet
distance needs two examples on each side, so :func:`evaluate_generation`
refuses (``ValueError``, one line) fewer than two real test, real training or
generated examples before it scores anything.
"""

from __future__ import annotations

import warnings
from typing import Callable

import numpy as np
import scipy.linalg
import torch

from wavegen.words import counted


def inception_score(probs: torch.Tensor | np.ndarray, splits: int = 10) -> tuple[float, float]:
    """(mean, std) over ``splits`` parts of exp(E[KL(p(y|x) ‖ p(y))]) for (N, classes) probabilities."""
    p = torch.as_tensor(probs, dtype=torch.float64)
    if p.dim() != 2:
        raise ValueError(f"the inception score needs (N, classes) probabilities, got shape {tuple(p.shape)}")
    if p.shape[0] < 1:
        raise ValueError("the inception score needs at least 1 example, got none")
    if not 1 <= splits <= p.shape[0]:
        raise ValueError(f"the inception score cannot split {counted(p.shape[0], 'example')} into "
                         f"{counted(splits, 'part')}: use at most {counted(p.shape[0], 'split')}")
    # Splits of a fixed random permutation: rows in a meaningful order (a real test set sorted by
    # class) would otherwise give each split one class and a score near 1.
    order = torch.randperm(p.shape[0], generator=torch.Generator().manual_seed(0))
    p = p[order].clamp_min(1e-12)
    scores = []
    for part in p.tensor_split(splits):
        marginal = part.mean(dim=0, keepdim=True)
        kl = (part * (part.log() - marginal.log())).sum(dim=1)
        scores.append(kl.mean().exp().item())
    return float(np.mean(scores)), float(np.std(scores))


def gaussian_statistics(features: torch.Tensor | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, covariance) of (N, D) features, in float64."""
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"a Gaussian fit needs (N, D) features of at least 2 examples, got shape {x.shape}")
    return x.mean(axis=0), np.cov(x, rowvar=False)


def frechet_distance(a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to (N, D) features ``a`` and (M, D) features ``b``."""
    (mu1, sigma1), (mu2, sigma2) = gaussian_statistics(a), gaussian_statistics(b)
    return frechet_distance_from_statistics(mu1, sigma1, mu2, sigma2)


def frechet_distance_from_statistics(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray,
                                     sigma2: np.ndarray) -> float:
    """‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2 (Σ₁Σ₂)^½); a tiny ridge is added when the product is singular."""
    with warnings.catch_warnings():            # singular products are handled below
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
        if not np.isfinite(covmean).all():
            ridge = np.eye(sigma1.shape[0]) * 1e-6
            covmean = scipy.linalg.sqrtm((sigma1 + ridge) @ (sigma2 + ridge))
    covmean = np.real(covmean)            # rounding leaves tiny imaginary parts
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def nearest_neighbour_distances(queries: torch.Tensor, references: torch.Tensor,
                                chunk: int = 1024) -> tuple[torch.Tensor, torch.Tensor]:
    """(distances (N,), indices (N,)) of each of (N, D) ``queries``' nearest row of (M, D) ``references``."""
    queries, references = queries.double().flatten(1), references.double().flatten(1)
    distances, indices = [], []
    for part in queries.split(chunk):
        d, i = torch.cdist(part, references).min(dim=1)
        distances.append(d)
        indices.append(i)
    return torch.cat(distances).float(), torch.cat(indices)


def _self_distances(features: torch.Tensor) -> torch.Tensor:
    """Each row's distance to its nearest *other* row."""
    distances = torch.cdist(features.double(), features.double())
    distances.fill_diagonal_(float("inf"))
    return distances.min(dim=1).values.float()


Describe = Callable[[torch.Tensor], dict]       # examples -> extra columns of their row (e.g. audio level)


def score_examples(name: str, examples: torch.Tensor, classifier, *, reference_features: torch.Tensor,
                   train_features: torch.Tensor, labels: torch.Tensor | None = None, splits: int = 10,
                   train_rows: torch.Tensor | None = None, describe: Describe | None = None) -> dict:
    """One table row: scores of ``examples`` judged by ``classifier`` (its ``predict``) against real features.

    ``train_rows`` says which training examples ``examples`` are (for a row of
    real training examples), so each one's nearest training neighbour is another
    one. ``describe(examples)`` adds the domain's own columns. The inception
    score takes at most one split per example; ``splits`` in the row says how many.
    """
    probs, features = classifier.predict(examples)
    splits = min(splits, probs.shape[0])
    mean, std = inception_score(probs, splits)
    shares = np.bincount(probs.argmax(-1).numpy(), minlength=probs.shape[1]) / probs.shape[0]
    if train_rows is None:
        nn_train = nearest_neighbour_distances(features, train_features)[0]
    else:
        distances = torch.cdist(features.double(), train_features.double())
        distances[torch.arange(len(train_rows)), train_rows] = float("inf")
        nn_train = distances.min(dim=1).values
    row = {"name": name, "count": int(examples.shape[0]), "inception_score": mean, "inception_std": std,
           "splits": splits, "frechet": frechet_distance(features, reference_features),
           "nn_train": float(nn_train.median()), "nn_self": float(_self_distances(features).median()),
           "class_shares": [round(float(s), 4) for s in shares]}
    if labels is not None:
        row["accuracy"] = float((probs.argmax(-1) == labels).float().mean())
    if describe is not None:
        row.update(describe(examples))
    return row


def evaluate_generation(generators: dict[str, Callable[[int, int], torch.Tensor]], classifier,
                        real_test: tuple[torch.Tensor, torch.Tensor], real_train: tuple[torch.Tensor, torch.Tensor],
                        *, count: int = 2000, seed: int = 0, splits: int = 10, noun: str = "examples",
                        describe: Describe | None = None) -> list[dict]:
    """Rows for real test examples, real training examples and each named ``generators[name](count, seed)``.

    ``real_test`` and ``real_train`` are (examples, labels). The inception score
    and the neighbour distances grow with the number of examples they see, so
    the training row takes ``count`` of them (a seeded draw; all if fewer), as
    many as each generator makes: that row is the one to compare generators with
    (the papers' "real data" row). The test row shows how the classifier does on
    examples it never saw (accuracy) and how far unseen real examples lie from
    the training set (``nn_train``). Fréchet distances are to the test
    examples' features (for the test row itself, the training examples' distance
    to them).

    Each row's inception score takes at most one split per example (see the
    module docstring); fewer than two real test, real training or generated
    examples (``count``) are a one-line ``ValueError``, raised before anything is scored.
    """
    test_x, test_labels = real_test
    train_x, train_labels = real_train
    singular = noun.removesuffix("s")
    for what, n in (("real test", len(test_x)), ("real training", len(train_x)), ("generated", count)):
        if n < 2:
            raise ValueError(f"the Fréchet distance needs at least 2 {what} {noun}, got {counted(n, singular)}")
    _, test_features = classifier.predict(test_x)
    _, train_features = classifier.predict(train_x)
    common = dict(train_features=train_features, splits=splits, describe=describe)
    rows = [score_examples(f"real test {noun}", test_x, classifier, reference_features=train_features,
                           labels=test_labels, **common)]
    picked = torch.randperm(train_x.shape[0], generator=torch.Generator().manual_seed(seed))[:count]
    rows.append(score_examples(f"real training {noun}", train_x[picked], classifier, reference_features=test_features,
                               labels=train_labels[picked], train_rows=picked, **common))
    for name, generate in generators.items():
        rows.append(score_examples(name, generate(count, seed), classifier, reference_features=test_features,
                                   **common))
    return rows


def format_scores(rows: list[dict], noun: str = "examples",
                  extra: tuple[tuple[str, Callable[[dict], str]], ...] = ()) -> str:
    """The rows as an aligned table: inception score, Fréchet distance, accuracy, neighbours, then
    each ``extra`` (header, row -> text) column; under it, a line for each row whose inception score
    took fewer splits than the others (it had fewer examples than splits)."""
    width = max(len(noun), *(len(r["name"]) for r in rows))
    head = "".join(f"  {h:>8}" for h, _ in extra)
    lines = [f"{noun:<{width}}  {'n':>5}  {'inception score':>15}  {'Frechet':>8}  {'accuracy':>8}  "
             f"{'nn_train':>8}  {'nn_self':>8}{head}"]
    for r in rows:
        accuracy = f"{r['accuracy']:8.3f}" if "accuracy" in r else f"{'-':>8}"
        cells = "".join(f"  {cell(r):>8}" for _, cell in extra)
        lines.append(f"{r['name']:<{width}}  {r['count']:>5}  {r['inception_score']:8.2f} ± {r['inception_std']:4.2f}"
                     f"  {r['frechet']:8.2f}  {accuracy}  {r['nn_train']:8.3f}  {r['nn_self']:8.3f}{cells}")
    return "\n".join(lines + _fewer_splits(rows, noun))


def _fewer_splits(rows: list[dict], noun: str) -> list[str]:
    """A note for each row scored over fewer splits than the most any row took."""
    most = max((r.get("splits", 0) for r in rows), default=0)
    return [f"({r['name']}: inception score over {counted(r['splits'], 'split')}, not {most}, as there "
            f"{'is' if r['count'] == 1 else 'are'} only {counted(r['count'], noun.removesuffix('s'))})"
            for r in rows if r.get("splits", most) < most]
