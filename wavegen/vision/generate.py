"""``wavegen sample`` for image models (VAEs, GANs, PixelCNN): a PNG grid and single PNGs.

    wavegen sample -c exp/vae-digits/model.safetensors -o out/ -n 64 --seed 3
    wavegen sample -c exp/cvae-digits/model.safetensors -o out/ --class 7
    wavegen sample -c exp/vae-digits/model.safetensors -o out/ --interpolate 3 8 -n 10
    wavegen sample -c exp/pixelcnn-digits/model.safetensors -o out/ -n 20 --path plain

Prior samples are z ~ N(0, T²I) (T the temperature, 1 by default) decoded to
the mean image of p(x|z) (a VAE) or by the generator (a GAN). A conditional
model without ``--class`` draws one z per row and decodes it under every class,
a column each: the same style, every class (the picture of Kingma et al. 2014, figure 1). ``--interpolate A B``
walks from A to B along the great circle (:func:`~wavegen.vision.images.slerp`),
A and B each a seed (its prior draw) or, for a VAE, an image file (its posterior mean).
A PixelCNN has no latent: it samples pixel by pixel from seeded draws along
``--path`` (``cached``, the fast one, or ``plain``; the same images either way).
Files: ``<what>-<i>.png`` and ``<what>-grid.png``, ``<what>`` saying what made
them; nothing in the output folder is replaced without ``overwrite``.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Callable

import torch

from wavegen.core.capabilities import require
from wavegen.core.sampling import SampleRequest, refuse
from wavegen.errors import WavegenError
from wavegen.vision.capabilities import ImageEncoder, ImageGenerator
from wavegen.vision.evaluate import draw_images
from wavegen.vision.images import read_png, save_image_grid, save_png, slerp
from wavegen.vision.pixelcnn import PATHS, PixelCNN

DEFAULT_COUNT = 64            # prior samples
DEFAULT_STEPS = 10            # images along a latent walk


def resolve_label(model, label: str | None) -> int | None:
    """A class name or index of a conditional model -> its index; None stays None."""
    if label is None:
        return None
    if not model.num_classes:
        raise WavegenError(f"--class {label}: this {model.registry_name} model is not class-conditional")
    if label in model.classes:
        return model.classes.index(label)
    if label.lstrip("-").isdigit() and 0 <= int(label) < model.num_classes:
        return int(label)
    raise WavegenError(f"--class {label}: not one of this model's classes ({', '.join(model.classes)}) "
                       f"or an index below {model.num_classes}")


def _latent_end(model, end: str, y: torch.Tensor | None, temperature: float) -> torch.Tensor:
    """One end of a walk: a seed's prior draw, or an image file's posterior mean, (rows, latent)."""
    device = next(model.parameters()).device
    rows = 1 if y is None else len(y)
    if re.fullmatch(r"-?\d+", end):
        z = torch.randn(model.latent, generator=torch.Generator().manual_seed(int(end))) * temperature
        return z.to(device).expand(rows, -1)
    if not Path(end).is_file():
        raise WavegenError(f"--interpolate {end}: neither a seed (an integer) nor an image file")
    require(model, ImageEncoder, f"--interpolate {end}")
    image = read_png(end, model.image_shape).to(device)[None].expand(rows, -1, -1, -1)
    model.eval()
    with torch.no_grad():
        return model.encode(image, y)[0]


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)[:40] or "class"


def generate_images(model, request: SampleRequest) -> tuple[torch.Tensor, str, int, list[str] | None,
                                                            list[str] | None]:
    """(images (N, C, H, W) in [0, 1], file stem, grid columns, row labels, column labels) for ``request``."""
    model.eval()
    device = next(model.parameters()).device
    label = resolve_label(model, request.label)
    classes = list(range(model.num_classes)) if label is None else [label]
    n = request.count
    if isinstance(model, PixelCNN):
        return _pixelcnn_images(model, request, label)
    if request.interpolate is not None:
        start, end = request.interpolate
        y = torch.tensor(classes, device=device) if model.num_classes else None
        z0, z1 = (_latent_end(model, e, y, request.temperature) for e in (start, end))
        z = torch.stack([slerp(a, b, n) for a, b in zip(z0, z1)]).flatten(0, 1)            # (rows·n, latent)
        y_all = None if y is None else y.repeat_interleave(n)
        rows = [model.classes[k] for k in classes] if model.num_classes else None
        stem = f"walk-{_safe(Path(start).stem)}-{_safe(Path(end).stem)}"
        return model.images(z, y_all), stem, n, rows, None
    generator = torch.Generator().manual_seed(request.seed)
    if model.num_classes and label is None:        # one z per row, decoded under every class
        rows = -(-n // model.num_classes)
        z = (torch.randn(rows, model.latent, generator=generator) * request.temperature).to(device)
        z = z.repeat_interleave(model.num_classes, dim=0)[:n]
        y = torch.arange(model.num_classes, device=device).repeat(rows)[:n]
        return (model.images(z, y), f"seed{request.seed}", model.num_classes, None,
                [str(c) for c in model.classes])
    z = (torch.randn(n, model.latent, generator=generator) * request.temperature).to(device)
    y = None if label is None else torch.full((n,), label, device=device)
    stem = f"seed{request.seed}" if label is None else f"class{_safe(model.classes[label])}-seed{request.seed}"
    return model.images(z, y), stem, min(n, max(4, math.ceil(math.sqrt(n)))), None, None


def _pixelcnn_images(model, request: SampleRequest, label: int | None):
    """PixelCNN has no latent space: images from seeded draws, the classes in turn when conditional."""
    refuse(request, ("interpolate",), "a PixelCNN has no latent space to walk")
    path = request.path or "cached"
    if path not in PATHS:
        raise WavegenError(f"--path {path}: expected one of {', '.join(PATHS)} for PixelCNN")
    n = request.count
    y = None if not model.num_classes else (torch.full((n,), label) if label is not None
                                            else torch.arange(n) % model.num_classes)
    images = draw_images(model, n, request.seed, y=y, path=path, temperature=request.temperature)
    if model.num_classes and label is None:
        return images, f"seed{request.seed}", model.num_classes, None, [str(c) for c in model.classes]
    stem = f"seed{request.seed}" if label is None else f"class{_safe(model.classes[label])}-seed{request.seed}"
    return images, stem, min(n, max(4, math.ceil(math.sqrt(n)))), None, None


def write_samples(model, out_dir: str | Path, request: SampleRequest,
                  progress: Callable[[int, int], None] | None = None) -> list[Path]:
    """Sample images into ``out_dir``: single PNGs and a grid; returns the paths."""
    require(model, ImageGenerator)
    refuse(request, ("seconds", "speaker", "mel_from"), "image models make images of a fixed size")
    if not isinstance(model, PixelCNN):
        refuse(request, ("path",), "only autoregressive models have sampling paths")
    if request.count < 1 or (request.interpolate is not None and request.count < 2):
        raise WavegenError(f"-n must be at least {2 if request.interpolate else 1}, got {request.count}")
    if not request.temperature > 0:
        raise WavegenError(f"--temperature must be positive, got {request.temperature}")
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise WavegenError(f"-o {out_dir}: is a file, not a folder")
    images, stem, columns, row_labels, column_labels = generate_images(model, request)
    paths = [out_dir / f"{stem}-{i}.png" for i in range(len(images))]
    grid = out_dir / f"{stem}-grid.png"
    existing = [p for p in [*paths, grid] if p.exists()]
    if existing and not request.overwrite:
        raise WavegenError(f"{existing[0]} already exists ({len(existing)} files); use --overwrite to replace, "
                           f"or another -o folder or --seed")
    for i, (path, image) in enumerate(zip(paths, images.cpu())):
        save_png(path, image)
        if progress is not None:
            progress(i + 1, len(images))
    what = "latent walk" if request.interpolate else "samples"
    save_image_grid(grid, images.cpu(), columns=columns, row_labels=row_labels, column_labels=column_labels,
                    title=f"{model.registry_name} {what}, {stem}")
    return [*paths, grid]
