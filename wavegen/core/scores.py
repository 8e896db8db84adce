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
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg
import torch


def inception_score(probs: torch.Tensor | np.ndarray, splits: int = 10) -> tuple[float, float]:
    """(mean, std) over ``splits`` parts of exp(E[KL(p(y|x) ‖ p(y))]) for (N, classes) probabilities."""
    p = torch.as_tensor(probs, dtype=torch.float64)
    if p.dim() != 2 or p.shape[0] < splits:
        raise ValueError(f"need (N, classes) probabilities with N >= splits={splits}, got {tuple(p.shape)}")
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
        raise ValueError(f"need (N, D) features with N >= 2, got {x.shape}")
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
