"""An image classifier: the judge of conditional samples and generation scores, and M2's q(y|x).

The same bodies as the generative models (:mod:`wavegen.vision.networks`): an
MLP (Kingma et al. 2014 use one hidden layer of 500 units for q(y|x)) or
strided convolutions, then an optional dense embedding (the features a Fréchet
distance compares, Heusel et al. 2017) and a linear layer to the classes.
"""

from __future__ import annotations

import torch
from torch import nn

from wavegen.core.capabilities import Classifier
from wavegen.core.likelihood import predict_in_batches
from wavegen.core.registry import register_model
from wavegen.vision.networks import EncoderBody


# Named "image_classifier", not after its module: the recipe `classifier` trains it on images and the
# audio classifier ("audio_classifier") on sounds.
@register_model("image_classifier")
class ImageClassifier(Classifier, nn.Module):
    """(B, C, H, W) images in [0, 1] -> (B, classes) logits; :meth:`embed` gives the features."""

    family = "classifier"

    def __init__(self, image_shape: list[int] = (1, 28, 28), classes: list[str] = (), architecture: str = "conv",
                 hidden: list[int] = (500,), channels: list[int] = (32, 64), embedding: int = 128,
                 dropout: float = 0.3):
        super().__init__()
        if len(classes) < 2:
            raise ValueError(f"a classifier needs at least two classes, got {list(classes)}")
        self.config = dict(image_shape=list(image_shape), classes=list(classes), architecture=architecture,
                           hidden=list(hidden), channels=list(channels), embedding=embedding, dropout=dropout)
        self.image_shape, self.classes = tuple(image_shape), list(classes)
        self.body = EncoderBody(self.image_shape, architecture, hidden, channels)
        features = self.body.features
        self.embedding = nn.Sequential(nn.Linear(features, embedding), nn.ReLU()) if embedding else nn.Identity()
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(embedding or features, len(classes))

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, features): the penultimate activations."""
        return self.embedding(self.body(images * 2 - 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.output(self.dropout(self.embed(images)))

    def predict(self, images: torch.Tensor, batch_size: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
        """(class probabilities (N, classes), features (N, embedding)) for (N, C, H, W) images, in eval mode."""
        return predict_in_batches(self, images, batch_size)

    @torch.no_grad()
    def accuracy(self, images: torch.Tensor, labels: torch.Tensor) -> float:
        probs, _ = self.predict(images)
        return (probs.argmax(-1) == labels.cpu()).float().mean().item()
