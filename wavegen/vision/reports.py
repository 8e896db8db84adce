"""What the VAE recipes report: likelihood bounds on the test set and the pictures people look at.

- Bounds: the ELBO and the IWAE bound L_k (Burda et al. 2016) for k = 1, 5, 50,
  in nats per image (and bits per dimension), averaged over the test set.
  Burda et al. report L_50 of −86.76 (VAE) and −85.33 (IWAE), and Kingma and
  Welling about −96 (ELBO), for binarised MNIST with larger models.
- Pictures: test images above their reconstructions, prior samples, latent
  walks between pairs of test images, and for conditional models one row per
  z under every class, with the share of conditional samples that a
  classifier assigns to the asked class.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import torch

from wavegen.core.vae import elbo, iwae_bound
from wavegen.core.sampling import SampleRequest
from wavegen.vision.generate import generate_images
from wavegen.vision.images import save_image_grid, slerp
from wavegen.vision.ssvae import SSVAE

log = logging.getLogger(__name__)


@torch.no_grad()
def likelihood_bounds(model, images: torch.Tensor, labels: torch.Tensor | None, ks=(1, 5, 50),
                      batch_size: int = 100, seed: int = 0) -> list[dict]:
    """Rows {"bound", "nats", "bits_per_dim"}: the mean ELBO and IWAE L_k of ``images`` (seeded draws)."""
    if len(images) < 1:
        raise ValueError("the likelihood bounds need at least 1 test image, got none")
    model.eval()
    device = next(model.parameters()).device
    torch.manual_seed(seed)
    dims = images[0].numel()
    totals = {"ELBO": 0.0, **{f"IWAE k={k}": 0.0 for k in ks}}
    for start in range(0, len(images), batch_size):
        x = images[start:start + batch_size].to(device)
        y = None if labels is None else labels[start:start + batch_size].to(device)
        totals["ELBO"] += elbo(model, x, y).sum().item()
        for k in ks:
            totals[f"IWAE k={k}"] += iwae_bound(model, x, k, y).sum().item()
    return [{"bound": name, "nats": total / len(images), "bits_per_dim": -total / len(images) / dims / math.log(2)}
            for name, total in totals.items()]


def format_bounds(rows: list[dict], what: str) -> str:
    lines = [f"log-likelihood bounds on {what} (higher is better)",
             f"{'bound':<10} {'nats/image':>11} {'bits/dim':>9}"]
    lines += [f"{r['bound']:<10} {r['nats']:>11.2f} {r['bits_per_dim']:>9.4f}" for r in rows]
    return "\n".join(lines)


@torch.no_grad()
def write_pictures(model, images: torch.Tensor, labels: torch.Tensor, out_dir: str | Path, *,
                   seed: int = 0) -> list[Path]:
    """reconstructions.png, samples.png, interpolations.png (and classes.png if conditional) into ``out_dir``.

    Up to 16 test images (a seeded draw) are reconstructed, in rows of up to 8;
    the latent walks join pairs of them (up to 6). With fewer images the
    pictures are smaller; a single test image makes no pair to walk between, so
    interpolations.png is left out (a warning says so).
    """
    if len(images) < 1:
        raise ValueError("the pictures need at least 1 test image, got none")
    model.eval()
    out_dir = Path(out_dir)
    device = next(model.parameters()).device
    name = model.registry_name
    columns = min(8, len(images))
    shown = columns * min(2, len(images) // columns)                 # one or two rows of `columns`
    pick = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))[:shown]
    x, y = images[pick].to(device), labels[pick].to(device)
    m2 = isinstance(model, SSVAE)
    conditional = model.num_classes and not m2        # M2 reconstructs through its own q(y|x)
    recon = model.reconstruct(x, y if conditional else None)
    pairs = torch.cat([torch.cat([a, b]) for a, b in zip(x.split(columns), recon.split(columns))])
    paths = [save_image_grid(out_dir / "reconstructions.png", pairs.cpu(), columns=columns,
                             row_labels=["test", "reconstruction"] * (shown // columns),
                             title=f"{name}: test images and reconstructions")]
    paths.append(write_samples_grid(model, out_dir, seed))
    walks = _latent_walks(model, x, y, m2)
    if walks is None:
        log.warning("%s: one test image makes no pair to walk between; no interpolations.png", name)
    else:
        paths.append(save_image_grid(out_dir / "interpolations.png", walks.cpu(), columns=10,
                                     title=f"{name}: latent walks between test images (posterior means)"))
    return paths


def _latent_walks(model, x: torch.Tensor, y: torch.Tensor, m2: bool, count: int = 6) -> torch.Tensor | None:
    """Walks between the posterior means of images 0→1, 2→3, ... (same class for conditional models); None
    when there is no pair."""
    walks = []
    for a in range(0, 2 * min(count, len(x) // 2), 2):
        b = a + 1
        ya = y[a:a + 1] if model.num_classes else None
        if m2:
            ya = model.classify(x[a:a + 1]).argmax(-1)
        za, zb = model.encode(x[a:a + 1], ya)[0][0], model.encode(x[b:b + 1], ya)[0][0]
        walks.append(model.images(slerp(za, zb, 10), None if ya is None else ya.expand(10)))
    return torch.cat(walks) if walks else None


def write_samples_grid(model, out_dir: Path, seed: int = 0) -> Path:
    """samples.png (64 prior samples), or classes.png for a conditional model (one z per row under every class)."""
    count = 8 * model.num_classes if model.num_classes else 64
    samples, _, columns, _, column_labels = generate_images(model, SampleRequest(count=count, seed=seed))
    return save_image_grid(Path(out_dir) / ("classes.png" if model.num_classes else "samples.png"), samples.cpu(),
                           columns=columns, column_labels=column_labels,
                           title=f"{model.registry_name}: prior samples"
                                 + (", one z per row under every class" if model.num_classes else ""))


@torch.no_grad()
def write_generator_pictures(model, out_dir: str | Path, *, seed: int = 0, walks: int = 6) -> list[Path]:
    """For a generator without an encoder (a GAN): the samples grid and latent walks between prior draws."""
    model.eval()
    out_dir = Path(out_dir)
    device = next(model.parameters()).device
    paths = [write_samples_grid(model, out_dir, seed)]
    g = torch.Generator().manual_seed(seed + 1)
    ends = torch.randn(walks, 2, model.latent, generator=g).to(device)
    rows = []
    for i, (za, zb) in enumerate(ends):
        y = torch.full((10,), i % model.num_classes, device=device) if model.num_classes else None
        rows.append(model.images(slerp(za, zb, 10), y))
    paths.append(save_image_grid(out_dir / "interpolations.png", torch.cat(rows).cpu(), columns=10,
                                 title=f"{model.registry_name}: latent walks between prior draws"
                                       + (" (class of each row fixed)" if model.num_classes else "")))
    return paths
