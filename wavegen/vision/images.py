"""Images as tensors, their augmentations, latent walks, and pictures of them (PNG grids and single files).

The dataset readers (:mod:`wavegen.data.images`) give uint8 arrays (N, H, W, C);
the models take float tensors (N, C, H, W) in [0, 1].
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from wavegen.core.files import atomic_output, save_figure
from wavegen.errors import WavegenError


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, C) -> float32 (N, C, H, W) in [0, 1]."""
    return torch.from_numpy(np.array(images, dtype=np.uint8)).permute(0, 3, 1, 2).float() / 255.0


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """float (N, C, H, W) in [0, 1] -> uint8 (N, H, W, C), rounded and clipped."""
    return (images.detach().float().clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


class ImageDataset(Dataset):
    """``(image (C, H, W) float in [0, 1], label)`` items from uint8 images (N, H, W, C) and int labels."""

    def __init__(self, images: np.ndarray, labels: np.ndarray):
        self.images, self.labels = images, np.asarray(labels, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int):
        image = torch.from_numpy(np.array(self.images[index])).permute(2, 0, 1).float() / 255.0
        return image, torch.tensor(self.labels[index])


def binarize(images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Each pixel 1 with probability its grey level (the dynamic binarisation of binarised MNIST)."""
    return torch.bernoulli(images, generator=generator)


def fixed_binarization(images: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """One seeded binarisation, for a test set that stays the same from run to run."""
    return binarize(images, torch.Generator(images.device).manual_seed(seed))


def shift_images(images: torch.Tensor, max_shift: int) -> torch.Tensor:
    """Each image translated by up to ±``max_shift`` pixels on both axes, zeros shifted in (global RNG)."""
    if max_shift <= 0:
        return images
    b, _, h, w = images.shape
    padded = torch.nn.functional.pad(images, (max_shift,) * 4)
    dy, dx = torch.randint(0, 2 * max_shift + 1, (2, b)).tolist()
    return torch.stack([p[:, y:y + h, x:x + w] for p, y, x in zip(padded, dy, dx)])


def slerp(z0: torch.Tensor, z1: torch.Tensor, steps: int) -> torch.Tensor:
    """``steps`` latents from ``z0`` to ``z1`` (each (D,)) along the great circle, (steps, D).

    Spherical interpolation keeps intermediate points at the norm typical of a
    Gaussian prior, where linear interpolation passes near the origin, a region
    the prior rarely samples (White 2016, "Sampling Generative Networks").
    """
    t = torch.linspace(0, 1, steps, dtype=z0.dtype, device=z0.device)[:, None]
    cos = (z0 @ z1 / (z0.norm() * z1.norm()).clamp_min(1e-12)).clamp(-1, 1)
    omega = torch.arccos(cos)
    if omega.abs() < 1e-4:
        return (1 - t) * z0 + t * z1
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


def latent_arithmetic(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """mean(a) − mean(b) + mean(c) of three (k, D) groups of latents, (D,).

    The vector arithmetic of Radford et al. (2016, §6.3.2): each concept is the
    mean latent of a few exemplars ("smiling woman" − "neutral woman" + "neutral
    man"), since single latents were unstable. Any image generator's latents
    (GAN or VAE) can be combined this way and decoded with its ``images``.
    """
    return a.mean(0) - b.mean(0) + c.mean(0)


def tile(images: torch.Tensor, columns: int, pad: int = 2) -> np.ndarray:
    """(N, C, H, W) in [0, 1] -> one uint8 (rows·(H+pad), columns·(W+pad), C) mosaic on a grey background."""
    n, c, h, w = images.shape
    rows = math.ceil(n / columns)
    sheet = np.full((rows * (h + pad) + pad, columns * (w + pad) + pad, c), 128, dtype=np.uint8)
    for i, image in enumerate(to_uint8(images)):
        r, k = divmod(i, columns)
        sheet[pad + r * (h + pad):pad + r * (h + pad) + h, pad + k * (w + pad):pad + k * (w + pad) + w] = image
    return sheet


def save_image_grid(path: str | Path, images: torch.Tensor, *, columns: int, title: str = "",
                    row_labels: list[str] | None = None, column_labels: list[str] | None = None) -> Path:
    """A PNG of ``images`` in rows of ``columns``, with optional row and column labels, written atomically."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    sheet = tile(images, columns)
    h, w = images.shape[2:]
    rows = math.ceil(len(images) / columns)
    inches = max(2.0, min(12.0, columns * max(w, 28) / 40))
    figure, axis = plt.subplots(figsize=(inches + (1.2 if row_labels else 0), inches * rows / columns + 0.6))
    axis.imshow(sheet.squeeze(-1) if sheet.shape[-1] == 1 else sheet, cmap="gray", vmin=0, vmax=255,
                interpolation="nearest")
    axis.set_xticks([2 + (w + 2) * k + w / 2 for k in range(columns)] if column_labels else [])
    axis.set_xticklabels([_drawable(label) for label in column_labels or []], fontsize=7)
    axis.set_yticks([2 + (h + 2) * r + h / 2 for r in range(rows)] if row_labels else [])
    axis.set_yticklabels([_drawable(label) for label in row_labels or []], fontsize=7)
    axis.tick_params(length=0)
    for spine in axis.spines.values():
        spine.set_visible(False)
    return save_figure(figure, path, _drawable(title), dpi=100)


def _drawable(text: str) -> str:
    """``text`` with each character the figure's font cannot draw written as its code point ("猫" → "U+732B"),
    so a class named in any script is told apart in a picture rather than drawn as empty boxes."""
    from matplotlib import font_manager
    font = font_manager.get_font(font_manager.findfont(font_manager.FontProperties()))
    return "".join(c if c.isspace() or font.get_char_index(ord(c)) else f"U+{ord(c):04X}" for c in text)


def save_png(path: str | Path, image: torch.Tensor, scale: int = 1) -> Path:
    """One (C, H, W) image in [0, 1] as a PNG, enlarged ``scale`` times (nearest neighbour), atomically."""
    from PIL import Image
    array = to_uint8(image[None])[0]
    picture = Image.fromarray(array.squeeze(-1) if array.shape[-1] == 1 else array)
    if scale > 1:
        picture = picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)
    with atomic_output(path) as temporary:
        picture.save(temporary, format="PNG")
    return Path(path)


def read_png(path: str | Path, image_shape: tuple[int, int, int]) -> torch.Tensor:
    """An image file as a (C, H, W) tensor in [0, 1] of ``image_shape`` (converted and resized to fit)."""
    from PIL import Image, UnidentifiedImageError
    c, h, w = image_shape
    try:
        with Image.open(path) as picture:
            picture = picture.convert("L" if c == 1 else "RGB").resize((w, h), Image.BICUBIC)
    except (OSError, UnidentifiedImageError) as exc:
        raise WavegenError(f"{path}: not a readable image ({exc})") from None
    array = np.asarray(picture, dtype=np.uint8).reshape(h, w, c)
    return to_tensor(array[None])[0]
