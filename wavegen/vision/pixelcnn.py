"""Gated PixelCNN (van den Oord et al. 2016, "Conditional Image Generation with PixelCNN Decoders").

p(x | y) = Π_t p(x_t | x_<t, y) over the sub-pixels of an image in raster order, pixel-major and
channel-minor: step t = (r·W + c)·C + ch (eq. 1). Each sub-pixel is a softmax over ``levels`` values.

    e = x / (levels − 1) · 2 − 1, joined by a constant-1 channel (zero in the padding: where the border is)
    v = h = e
    for each layer (the first with first_kernel and mask A, then ``layers`` more with kernel and mask B):
        z_v = W_v ⊛ v + V_v y             vertical stack: (r, c) sees rows ≤ r, kernel (k//2 + 1, k)
        z_h = W_h ⊛ h + W_link ↓z_v + V_h y
                                          horizontal stack: row r, columns c − k//2 … c (mask B) or
                                          c − k//2 … c − 1 (mask A, the first layer); ↓ shifts down one
                                          row, so (r, c) gets vertical information from rows < r only
        v ← tanh(z_v,f) ⊙ σ(z_v,g)        the gated unit with the class term V y (eq. 4)
        h ← h + W_res (tanh(z_h,f) ⊙ σ(z_h,g))     (the first layer has no residual)
    u_ch = W_1 ReLU(h) + W_intra,ch e(pixel, channels < ch)
    logits_ch = W_2,ch ReLU(u_ch)          a 1×1 head per colour channel

No blind spot: the vertical stack covers every row above, full width of its kernel, and the
horizontal stack the row to the left. The masks are cropped kernels plus padding, not multiplied
masks. The stacks never see the current pixel; the already drawn channels of the current pixel
reach only the head (``W_intra``, masked so channel ch sees channels < ch), which keeps the two
stacks one computation per pixel (the paper's channel-grouped masks would make it one per channel).
The paper's skip connections are left out. ``V y``: a learned class embedding, projected to a
separate bias for each gated layer of both stacks.

Two sampling paths give the same images for the same uniform draws (:func:`generate`):
``plain`` runs the whole network over the canvas for every sub-pixel; ``cached`` is Ramachandran
et al. 2017 ("Fast Generation for Convolutional Autoregressive Models"): every layer keeps what it
has computed; a new pixel costs each horizontal layer one position, and a new image row costs each
vertical layer one row (:meth:`PixelCNN.init_state` / :meth:`PixelCNN.step`).
"""

from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

from wavegen.core.autoregressive import Categorical, sample_incremental
from wavegen.core.likelihood import LikelihoodTask
from wavegen.core.layers import gated
from wavegen.core.registry import register_model
from wavegen.errors import WavegenError
from wavegen.words import counted
from wavegen.vision.capabilities import ImageGenerator
from wavegen.vision.images import binarize

PATHS = ("plain", "cached")


def shift_down(z: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W): row r takes row r − 1's values, row 0 zeros."""
    return F.pad(z, (0, 0, 1, 0))[:, :, :-1]


class GatedLayer(nn.Module):
    """One layer of both stacks (the paper's Fig. 2); ``first``: mask A on the horizontal stack, no residual."""

    def __init__(self, in_channels: int, channels: int, kernel: int, first: bool):
        super().__init__()
        self.kernel, self.first = kernel, first
        half = kernel // 2
        self.vertical = nn.Conv2d(in_channels, 2 * channels, (half + 1, kernel))
        self.horizontal = nn.Conv2d(in_channels, 2 * channels, (1, half if first else half + 1))
        self.link = nn.Conv2d(2 * channels, 2 * channels, 1, bias=False)   # no bias: row 0 gets exactly 0
        self.residual = nn.Conv2d(channels, channels, 1)

    def vertical_conv(self, v: torch.Tensor) -> torch.Tensor:
        """(B, in, H, W) -> (B, 2p, H, W); (r, c) sees rows r − k//2 … r, columns c − k//2 … c + k//2."""
        half = self.kernel // 2
        return self.vertical(F.pad(v, (half, half, half, 0)))

    def horizontal_conv(self, h: torch.Tensor) -> torch.Tensor:
        """(B, in, H, W) -> (B, 2p, H, W); (r, c) sees row r, columns c − k//2 … c (mask A: … c − 1)."""
        return self.horizontal(F.pad(h, (self.kernel // 2, 0, 0, 0)))[..., :h.shape[-1]]

    def forward(self, v, h, bias_v=0.0, bias_h=0.0):
        """-> (vertical output, horizontal output, the vertical → horizontal link W_link ↓z_v)."""
        z_v = self.vertical_conv(v) + bias_v
        link = self.link(shift_down(z_v))
        out = self.residual(gated(self.horizontal_conv(h) + link + bias_h, 1))
        return gated(z_v, 1), out if self.first else h + out, link


@register_model("pixelcnn")
class PixelCNN(ImageGenerator, nn.Module):
    """p(x[ | y]) for images of ``levels`` values (B, C, H, W); class-conditional when ``classes`` are given."""

    family = "autoregressive"

    def __init__(self, image_shape: list[int] = (1, 28, 28), levels: int = 256, channels: int = 64,
                 layers: int = 12, kernel: int = 5, first_kernel: int = 7, classes: list[str] | None = None,
                 output_hidden: int = 256):
        super().__init__()
        if len(image_shape) != 3 or min(image_shape) < 1:
            raise ValueError(f"image_shape must be [channels, height, width], got {list(image_shape)}")
        if levels < 2 or channels < 1 or layers < 0 or output_hidden < 1:
            raise ValueError(f"need levels ≥ 2, channels ≥ 1, layers ≥ 0, output_hidden ≥ 1; got {levels}, "
                             f"{channels}, {layers}, {output_hidden}")
        if kernel < 1 or kernel % 2 == 0 or first_kernel < 3 or first_kernel % 2 == 0:
            raise ValueError(f"kernel must be odd and first_kernel odd and at least 3, got {kernel}, {first_kernel}")
        if classes is not None and len(classes) == 1:
            raise ValueError("a class-conditional PixelCNN needs at least two classes")
        self.config = dict(image_shape=list(image_shape), levels=levels, channels=channels, layers=layers,
                           kernel=kernel, first_kernel=first_kernel,
                           classes=list(classes) if classes else None, output_hidden=output_hidden)
        C, H, W = self.image_shape = tuple(image_shape)
        self.levels, self.steps, self.channels = levels, C * H * W, channels
        self.classes = list(classes or [])
        self.num_classes = len(self.classes)
        self.output = Categorical(levels)
        self.gated = nn.ModuleList([GatedLayer(C + 1, channels, first_kernel, first=True)] +
                                   [GatedLayer(channels, channels, kernel, first=False) for _ in range(layers)])
        if self.num_classes:
            self.class_embedding = nn.Embedding(self.num_classes, channels)
            self.class_projection = nn.Linear(channels, len(self.gated) * 2 * 2 * channels, bias=False)
        self.head_in = nn.Conv2d(channels, output_hidden, 1)
        # Channel ch's head sees the current pixel's channels < ch (none for grey images).
        self.head_intra = nn.Conv2d(C, C * output_hidden, 1, bias=False) if C > 1 else None
        below = torch.arange(C)[None, :] < torch.arange(C)[:, None]                  # (ch, ch'): ch' < ch
        self.register_buffer("intra_mask", below.repeat_interleave(output_hidden, 0)[:, :, None, None].float(),
                             persistent=False)
        self.head_out = nn.Conv2d(C * output_hidden, C * levels, 1, groups=C)

    # --- images <-> steps ------------------------------------------------------------------
    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Levels (any shape) -> the network's input values in [−1, 1], in the weights' dtype."""
        return x.to(self.head_in.weight.dtype) * (2.0 / (self.levels - 1)) - 1.0

    def flatten(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, C·H·W) in step order (pixel-major, channel-minor)."""
        return x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)

    def unflatten(self, samples: torch.Tensor) -> torch.Tensor:
        """(B, C·H·W) in step order -> (B, C, H, W)."""
        C, H, W = self.image_shape
        return samples.reshape(-1, H, W, C).permute(0, 3, 1, 2)

    def class_bias(self, y: torch.Tensor | None, batch: int) -> torch.Tensor | None:
        """The gate biases V y of every layer and both stacks, (B, layers, 2, 2p); None when unconditional."""
        if not self.num_classes:
            if y is not None:
                raise WavegenError("this PixelCNN is unconditional: it takes no class labels")
            return None
        if y is None:
            raise WavegenError(f"this PixelCNN is class-conditional ({counted(self.num_classes, 'class')}): "
                               "give a class label per image")
        if y.shape != (batch,) or y.is_floating_point() or bool(((y < 0) | (y >= self.num_classes)).any()):
            raise WavegenError(f"class labels must be {counted(batch, 'integer')} in 0…{self.num_classes - 1}, "
                               f"got {y.tolist() if y.numel() <= 10 else tuple(y.shape)}")
        return self.class_projection(self.class_embedding(y)).view(batch, len(self.gated), 2, -1)

    # --- teacher forcing ---------------------------------------------------------------------
    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (B, levels, C·H·W) in step order for levels x (B, C, H, W); step t sees x_<t only."""
        if tuple(x.shape[1:]) != self.image_shape:
            raise WavegenError(f"expected images of shape {list(self.image_shape)}, got {list(x.shape[1:])}")
        return self.logits_from_embedding(self.embed(x), y)

    def logits_from_embedding(self, e: torch.Tensor, y: torch.Tensor | None = None,
                              record: dict | None = None) -> torch.Tensor:
        """:meth:`forward` from input values e (B, C, H, W) (the ``embed`` of levels; any floats for gradient
        checks). ``record``, if given, receives each layer's ``"link"`` (W_link ↓z_v: all that the vertical
        stack gives the horizontal one) and ``"horizontal"`` output, lists of (B, ·, H, W)."""
        B, C, H, W = e.shape
        bias = self.class_bias(y, B)
        v = h = torch.cat([e, e.new_ones(B, 1, H, W)], dim=1)
        for i, layer in enumerate(self.gated):
            b_v, b_h = (0.0, 0.0) if bias is None else (bias[:, i, 0, :, None, None], bias[:, i, 1, :, None, None])
            v, h, link = layer(v, h, b_v, b_h)
            if record is not None:
                record.setdefault("link", []).append(link)
                record.setdefault("horizontal", []).append(h)
        u = self.head_in(F.relu(h)).repeat(1, C, 1, 1)                               # (B, C·hidden, H, W)
        if self.head_intra is not None:
            u = u + F.conv2d(e, self.head_intra.weight * self.intra_mask)
        logits = self.head_out(F.relu(u))                                            # (B, C·levels, H, W)
        return logits.view(B, C, self.levels, H, W).permute(0, 2, 3, 4, 1).reshape(B, self.levels, -1)

    def nll(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Negative log-likelihood of levels x (B, C, H, W) in nats per image, (B,)."""
        return self.output.nll(self(x, y), self.flatten(x)).sum(dim=1)

    # --- sampling: cached (Ramachandran et al. 2017) ---------------------------------------------
    def init_state(self, batch: int, y: torch.Tensor | None = None) -> dict:
        """The caches of :meth:`step`, each layer's input padded as ``forward`` pads it:

        ``image`` (B, C+1, H+a, W+2a), a = first_kernel // 2: the input, filled in as samples come;
        ``vertical[i]`` (B, p, H+b, W+2b), b = kernel // 2: vertical layer i's output (layer i+1's input);
        ``rows[i]`` (B, p, W+b): horizontal layer i's output in the current row;
        ``link[i]`` (B, 2p, W): W_link z_v of the row above, for the current row.
        """
        weight = self.head_in.weight
        device, dtype = weight.device, weight.dtype
        C, H, W = self.image_shape
        p, a, b = self.channels, self.config["first_kernel"] // 2, self.config["kernel"] // 2
        image = torch.zeros(batch, C + 1, H + a, W + 2 * a, device=device, dtype=dtype)
        image[:, C, a:, a:a + W] = 1.0
        bias = self.class_bias(y, batch)
        hidden = self.config["output_hidden"]
        intra = None if self.head_intra is None else (self.head_intra.weight * self.intra_mask)[:, :, 0, 0]
        return {
            "image": image,
            "vertical": [torch.zeros(batch, p, H + b, W + 2 * b, device=device, dtype=dtype)
                         for _ in self.gated[1:]],
            "rows": [torch.zeros(batch, p, W + b, device=device, dtype=dtype) for _ in self.gated[1:]],
            "link": [torch.zeros(batch, 2 * p, W, device=device, dtype=dtype) for _ in self.gated],
            "bias": bias,
            # Each layer's horizontal kernel as one matrix over a flattened (channels, width) patch.
            "horizontal": [layer.horizontal.weight.flatten(1) for layer in self.gated],
            "residual": [layer.residual.weight.flatten(1) for layer in self.gated],
            "head": [(None if intra is None else intra[ch * hidden:(ch + 1) * hidden],
                      self.head_out.weight[ch * self.levels:(ch + 1) * self.levels].flatten(1),
                      self.head_out.bias[ch * self.levels:(ch + 1) * self.levels]) for ch in range(C)],
            "u": None,
        }

    def step(self, state: dict, previous: torch.Tensor, t: int) -> torch.Tensor:
        """Logits (B, levels) of sub-pixel t given sub-pixel t − 1 (``previous``), updating ``state``."""
        C, H, W = self.image_shape
        a = self.config["first_kernel"] // 2
        image = state["image"]
        if t > 0:
            pixel, ch = divmod(t - 1, C)
            r, c = divmod(pixel, W)
            image[:, ch, r + a, c + a] = self.embed(previous)
        pixel, ch = divmod(t, C)
        r, c = divmod(pixel, W)
        if ch == 0:
            if c == 0 and r > 0:
                self._vertical_row(state, r - 1)
            state["u"] = self._horizontal_pixel(state, r, c)
        intra, w_out, b_out = state["head"][ch]
        u = state["u"]
        if intra is not None:
            u = u + F.linear(image[:, :C, r + a, c + a], intra)
        return F.linear(F.relu(u), w_out, b_out)

    def _vertical_row(self, state: dict, q: int) -> None:
        """Row q of every vertical layer (now that the image's row q is known) and the links for row q + 1."""
        bias = state["bias"]
        source = state["image"]
        for i, layer in enumerate(self.gated):
            # ``source`` is padded with k//2 rows on top: padded rows q … q + k//2 are rows q − k//2 … q.
            z_v = layer.vertical(source[:, :, q:q + layer.kernel // 2 + 1])          # (B, 2p, 1, W)
            if bias is not None:
                z_v = z_v + bias[:, i, 0, :, None, None]
            state["link"][i] = layer.link(z_v)[:, :, 0]                              # (B, 2p, W)
            if i + 1 < len(self.gated):
                source = state["vertical"][i]
                b = self.gated[i + 1].kernel // 2
                source[:, :, q + b, b:-b or None] = gated(z_v, 1)[:, :, 0]

    def _horizontal_pixel(self, state: dict, r: int, c: int) -> torch.Tensor:
        """Every horizontal layer at pixel (r, c), then the head's shared part u, (B, hidden)."""
        bias = state["bias"]
        a = self.config["first_kernel"] // 2
        batch = state["image"].shape[0]
        patch = state["image"][:, :, r + a, c:c + a]                                 # columns c − a … c − 1
        h = None
        for i, layer in enumerate(self.gated):
            z_h = F.linear(patch.reshape(batch, -1), state["horizontal"][i], layer.horizontal.bias)
            z_h = z_h + state["link"][i][:, :, c]
            if bias is not None:
                z_h = z_h + bias[:, i, 1]
            out = F.linear(gated(z_h, 1), state["residual"][i], layer.residual.bias)
            h = out if layer.first else h + out
            if i + 1 < len(self.gated):
                row, b = state["rows"][i], self.gated[i + 1].kernel // 2
                row[:, :, c + b] = h
                patch = row[:, :, c:c + b + 1]                                        # columns c − b … c
        return F.linear(F.relu(h), self.head_in.weight.flatten(1), self.head_in.bias)


class PlainPath:
    """The reference sampler: the whole network over the canvas for every sub-pixel (``init_state``/``step``)."""

    def __init__(self, model: PixelCNN):
        self.model, self.output = model, model.output

    def init_state(self, batch: int, y: torch.Tensor | None = None) -> dict:
        self.model.class_bias(y, batch)                                               # refuse a wrong y now
        device = self.model.head_in.weight.device
        return {"samples": torch.zeros(batch, self.model.steps, dtype=torch.long, device=device), "y": y}

    def step(self, state: dict, previous: torch.Tensor, t: int) -> torch.Tensor:
        if t > 0:
            state["samples"][:, t - 1] = previous
        return self.model(self.model.unflatten(state["samples"]), state["y"])[:, :, t]


@torch.no_grad()
def generate(model: PixelCNN, draws: torch.Tensor, y: torch.Tensor | None = None, *, temperature: float = 1.0,
             path: str = "cached", progress: Callable[[int], None] | None = None) -> torch.Tensor:
    """Images (B, C, H, W) of levels (long) for draws (B, C·H·W, 1) from ``make_draws``, on the model's device.

    ``y`` (B,) class indices for a conditional model. ``path``: ``plain`` or ``cached``; both give the
    same images for the same draws. ``progress(n)`` is told about every n sub-pixels finished.
    """
    if path not in PATHS:
        raise WavegenError(f"unknown sampling path {path!r}: expected one of {', '.join(PATHS)}")
    if draws.dim() != 3 or draws.shape[1] != model.steps or draws.shape[2] != 1:
        raise WavegenError(f"draws must be (batch, {model.steps}, 1) for {list(model.image_shape)} images, "
                           f"got {list(draws.shape)}")
    model.eval()
    device = model.head_in.weight.device
    y = None if y is None else torch.as_tensor(y, device=device)
    sampler = model if path == "cached" else PlainPath(model)
    samples = sample_incremental(sampler, draws.to(device), y, temperature=temperature, progress=progress)
    return model.unflatten(samples)


def quantize(images: torch.Tensor, levels: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Images in [0, 1] -> long levels in [0, levels): two levels by dynamic binarisation (each pixel 1 with
    probability its grey level, :func:`~wavegen.vision.images.binarize`), else round(x · (levels − 1))."""
    images = images.clamp(0, 1)
    if levels == 2:
        return binarize(images, generator).long()
    return (images * (levels - 1)).round().long()


class PixelCNNTask(LikelihoodTask):
    """Maximum likelihood in nats per sub-pixel.

    A batch is images (B, C, H, W), or (images, labels); labels are used only by a conditional model.
    Float images in [0, 1] are quantised afresh each step (binarised: a new draw from the global RNG,
    which the trainer seeds per step); integer images are taken as levels. Validation batches are
    quantised once here (binarisation seeded 0), so ``val_nll`` compares from one evaluation to the next.
    """

    def __init__(self, model: PixelCNN, *, lr: float = 1e-3, grad_clip: float = 1.0, validation=()):
        super().__init__(model, lr=lr, grad_clip=grad_clip, validation=[self._fixed(b, model) for b in validation])

    @staticmethod
    def _fixed(batch: Any, model: PixelCNN) -> tuple[torch.Tensor, torch.Tensor | None]:
        images, labels = batch if isinstance(batch, (tuple, list)) else (batch, None)
        if images.is_floating_point():
            images = quantize(images, model.levels, torch.Generator(images.device).manual_seed(0))
        return images, labels

    def loss(self, batch: Any) -> torch.Tensor:
        images, labels = batch if isinstance(batch, (tuple, list)) else (batch, None)
        levels = quantize(images, self.model.levels) if images.is_floating_point() else images
        return self.model.nll(levels, labels if self.model.num_classes else None).mean() / self.model.steps

    def evaluate(self) -> dict[str, float]:
        with torch.no_grad():
            return super().evaluate()
