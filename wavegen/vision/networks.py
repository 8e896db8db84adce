"""Encoder and decoder bodies shared by the image models: an MLP over pixels, or strided convolutions.

- ``mlp``: the flattened image through fully connected layers with ReLU, as in
  Kingma and Welling 2014 (appendix C, one hidden layer of 500 units on MNIST)
  and Kingma et al. 2014 (M2, 500 units).
- ``conv``: 4 × 4 convolutions of stride 2 (each halves the image), batch norm
  and ReLU; the decoder mirrors them with transposed convolutions (the DCGAN
  pattern of Radford et al. 2016). Height and width must divide by 2 per layer.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from wavegen.words import article, counted

ARCHITECTURES = ("mlp", "conv")


def check_architecture(architecture: str, image_shape: tuple[int, int, int], channels: list[int]) -> None:
    if architecture not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {architecture!r}; choose from {', '.join(ARCHITECTURES)}")
    if len(image_shape) != 3 or min(image_shape) < 1:
        raise ValueError(f"image_shape must be (channels, height, width), got {list(image_shape)}")
    if architecture == "conv":
        factor = 2 ** len(channels)
        if not channels or image_shape[1] % factor or image_shape[2] % factor:
            raise ValueError(f"a conv body with {counted(len(channels), 'layer')} needs height and width divisible by "
                             f"{factor}, got {image_shape[1]}×{image_shape[2]}")


class EncoderBody(nn.Module):
    """(B, C, H, W) -> (B, features)."""

    def __init__(self, image_shape, architecture: str = "mlp", hidden=(500,), channels=(32, 64)):
        super().__init__()
        check_architecture(architecture, image_shape, list(channels))
        c, h, w = image_shape
        layers: list[nn.Module] = [nn.Flatten()]
        if architecture == "mlp":
            widths = [c * h * w, *hidden]
            for w_in, w_out in zip(widths, widths[1:]):
                layers += [nn.Linear(w_in, w_out), nn.ReLU()]
            self.features = widths[-1]
        else:
            layers = []
            widths = [c, *channels]
            for c_in, c_out in zip(widths, widths[1:]):
                layers += [nn.Conv2d(c_in, c_out, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(c_out),
                           nn.ReLU()]
            layers.append(nn.Flatten())
            factor = 2 ** len(channels)
            self.features = channels[-1] * (h // factor) * (w // factor)
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class DecoderBody(nn.Module):
    """(B, inputs) -> (B, out_channels, H, W): unbounded outputs (logits or distribution parameters)."""

    def __init__(self, inputs: int, image_shape, out_channels: int, architecture: str = "mlp", hidden=(500,),
                 channels=(32, 64)):
        super().__init__()
        check_architecture(architecture, image_shape, list(channels))
        _, h, w = image_shape
        self.out_shape = (out_channels, h, w)
        if architecture == "mlp":
            widths = [inputs, *reversed(hidden)]
            layers: list[nn.Module] = []
            for w_in, w_out in zip(widths, widths[1:]):
                layers += [nn.Linear(w_in, w_out), nn.ReLU()]
            layers.append(nn.Linear(widths[-1], math.prod(self.out_shape)))
        else:
            factor = 2 ** len(channels)
            start = (channels[-1], h // factor, w // factor)
            layers = [nn.Linear(inputs, math.prod(start)), nn.ReLU(), nn.Unflatten(1, start)]
            widths = list(reversed(channels))
            for c_in, c_out in zip(widths, widths[1:]):
                layers += [nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1, bias=False),
                           nn.BatchNorm2d(c_out), nn.ReLU()]
            layers.append(nn.ConvTranspose2d(widths[-1], out_channels, 4, stride=2, padding=1))
        self.body = nn.Sequential(*layers)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.body(inputs).view(-1, *self.out_shape)


def one_hot(y: torch.Tensor, classes: int, dtype: torch.dtype) -> torch.Tensor:
    return nn.functional.one_hot(y.long(), classes).to(dtype)


def model_classes(model: nn.Module, classes) -> list[str]:
    """``classes`` as a list, as ``model`` takes them: two or more when it is conditional, none otherwise.

    The plain and the class-conditional form of a model (vae and cvae, dcgan and
    cgan) are one implementation; the class attribute ``conditional`` says which.
    """
    classes = list(classes or [])
    if model.conditional and len(classes) < 2:
        raise ValueError(f"{article(model.registry_name)} is class-conditional: it needs at least two classes, "
                         f"got {classes}")
    if not model.conditional and classes:
        raise ValueError(f"{article(model.registry_name)} is unconditional: leave out classes "
                         f"(its class-conditional form takes them)")
    return classes
