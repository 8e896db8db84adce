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
them: ``seed<S>``, ``class<name>-seed<S>`` or ``walk-<A>-<B>``, then ``-t<T>`` when
the temperature is not 1. Class names keep their letters (any script); only
characters a file name cannot hold become ``_``, and two classes whose names
would then meet get their index appended (:func:`~wavegen.core.sampling.safe_names`).
Nothing in the output folder is replaced without ``overwrite``, which also
removes the rest of an earlier, longer run of the same name; runs above
:data:`~wavegen.core.sampling.MAX_SAMPLES` images need ``many`` (all checked before any sampling).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Callable

import torch

from wavegen.core.capabilities import require
from wavegen.core.sampling import (SampleFiles, SampleRequest, check_request, plan_outputs, refuse, safe_name,
                                   safe_names, temperature_tag)
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


def class_file_names(model) -> list[str]:
    """Each class's name as file names hold it: letters of any script kept, all different."""
    return safe_names([str(c) for c in model.classes])


def file_stem(model, request: SampleRequest, label: int | None) -> str:
    """What made the files: ``seed<S>``, ``class<name>-seed<S>`` or ``walk-<A>-<B>``, and ``-t<T>`` unless T is 1."""
    tag = temperature_tag(request.temperature)
    if request.interpolate is not None:
        start, end = request.interpolate
        return f"walk-{safe_name(Path(start).stem)}-{safe_name(Path(end).stem)}{tag}"
    seed = f"seed{request.seed}{tag}"
    return seed if label is None else f"class{class_file_names(model)[label]}-{seed}"


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
        return model.images(z, y_all), file_stem(model, request, label), n, rows, None
    generator = torch.Generator().manual_seed(request.seed)
    if model.num_classes and label is None:        # one z per row, decoded under every class
        rows = -(-n // model.num_classes)
        z = (torch.randn(rows, model.latent, generator=generator) * request.temperature).to(device)
        z = z.repeat_interleave(model.num_classes, dim=0)[:n]
        y = torch.arange(model.num_classes, device=device).repeat(rows)[:n]
        return (model.images(z, y), file_stem(model, request, label), model.num_classes, None,
                [str(c) for c in model.classes])
    z = (torch.randn(n, model.latent, generator=generator) * request.temperature).to(device)
    y = None if label is None else torch.full((n,), label, device=device)
    columns = min(n, max(4, math.ceil(math.sqrt(n))))
    return model.images(z, y), file_stem(model, request, label), columns, None, None


def _pixelcnn_images(model, request: SampleRequest, label: int | None):
    """PixelCNN has no latent space: images from seeded draws, the classes in turn when conditional."""
    path = _pixelcnn_path(request)
    n = request.count
    y = None if not model.num_classes else (torch.full((n,), label) if label is not None
                                            else torch.arange(n) % model.num_classes)
    images = draw_images(model, n, request.seed, y=y, path=path, temperature=request.temperature)
    stem = file_stem(model, request, label)
    if model.num_classes and label is None:
        return images, stem, model.num_classes, None, [str(c) for c in model.classes]
    return images, stem, min(n, max(4, math.ceil(math.sqrt(n)))), None, None


def _pixelcnn_path(request: SampleRequest) -> str:
    """PixelCNN's sampling path (``cached`` unless asked); a walk or an unknown path is one line."""
    refuse(request, ("interpolate",), "a PixelCNN has no latent space to walk")
    path = request.path or "cached"
    if path not in PATHS:
        raise WavegenError(f"--path {path}: expected one of {', '.join(PATHS)} for PixelCNN")
    return path


def write_samples(model, out_dir: str | Path, request: SampleRequest,
                  progress: Callable[[int, int], None] | None = None) -> SampleFiles:
    """Sample images into ``out_dir``: single PNGs and a grid; returns the paths (and any removed, ``overwrite``)."""
    require(model, ImageGenerator)
    check_request(request)
    refuse(request, ("seconds", "speaker", "mel_from"), "image models make images of a fixed size")
    if isinstance(model, PixelCNN):
        _pixelcnn_path(request)
    else:
        refuse(request, ("path",), "only autoregressive models have sampling paths")
    if request.interpolate is not None and request.count < 2:
        raise WavegenError(f"-n {request.count}: a latent walk needs at least 2 images")
    label = resolve_label(model, request.label)
    stem = file_stem(model, request, label)
    walks = model.num_classes if request.interpolate is not None and model.num_classes and label is None else 1
    plan = plan_outputs(out_dir, request, stem, ".png", others=(f"{stem}-grid.png",), count=walks * request.count,
                        bytes_each=2 * math.prod(model.image_shape))        # the image and its place in the grid
    images, stem, columns, row_labels, column_labels = generate_images(model, request)
    for i, (path, image) in enumerate(zip(plan.numbered, images.cpu())):
        save_png(path, image)
        if progress is not None:
            progress(i + 1, len(images))
    what = "latent walk" if request.interpolate else "samples"
    save_image_grid(plan.others[0], images.cpu(), columns=columns, row_labels=row_labels,
                    column_labels=column_labels, title=f"{model.registry_name} {what}, {stem}")
    return plan.finish()
