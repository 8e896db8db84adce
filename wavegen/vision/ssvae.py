"""M2, the semi-supervised VAE of Kingma, Rezende, Mohamed and Welling 2014 (§3.1.2), and the data it learns from.

- :class:`SSVAE`: a conditional VAE p(x|y, z) q(z|x, y) (:class:`~wavegen.vision.cvae.CVAE`)
  plus a classifier q(y|x); the objective is the core's
  :class:`~wavegen.core.vae.SemiSupervisedVAETask`.
- The data side: the paper (§4.2) keeps n labels spread evenly over the classes
  (:func:`balanced_subset`) and treats the rest of the training set as
  unlabelled; each M2 step sees a batch of unlabelled images and a batch of
  labelled ones (:class:`SemiSupervisedDataset`).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from wavegen.core.registry import register_model
from wavegen.vision.capabilities import ImageEncoder, ImageGenerator
from wavegen.vision.classifier import ImageClassifier
from wavegen.vision.cvae import CVAE
from wavegen.vision.images import ImageDataset
from wavegen.words import counted


@register_model("ssvae")
class SSVAE(ImageGenerator, ImageEncoder, nn.Module):
    """M2: a conditional VAE p(x|y, z) q(z|x, y) and a classifier q(y|x) (Kingma et al. 2014, §3.1.2)."""

    family = "vae"

    def __init__(self, image_shape: list[int] = (1, 28, 28), classes: list[str] = tuple("0123456789"),
                 latent: int = 50, architecture: str = "mlp", hidden: list[int] = (500,),
                 channels: list[int] = (32, 64), classifier_hidden: list[int] = (500,),
                 likelihood: str = "bernoulli", components: int = 5, dropout: float = 0.0):
        super().__init__()
        self.config = dict(image_shape=list(image_shape), classes=list(classes), latent=latent,
                           architecture=architecture, hidden=list(hidden), channels=list(channels),
                           classifier_hidden=list(classifier_hidden), likelihood=likelihood, components=components,
                           dropout=dropout)
        if len(classes) < 2:
            raise ValueError(f"M2 needs at least two classes, got {list(classes)}")
        self.vae = CVAE(image_shape, latent, architecture, hidden, channels, classes, likelihood, components)
        self.classifier = ImageClassifier(image_shape, classes, architecture, classifier_hidden, channels,
                                          embedding=0, dropout=dropout)
        self.image_shape, self.latent, self.classes = tuple(image_shape), latent, list(classes)
        self.num_classes = len(classes)

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """q(y|x) as logits, (B, classes)."""
        return self.classifier(x)

    def encode(self, x: torch.Tensor, y=None):
        return self.vae.encode(x, y)

    def log_likelihood(self, x: torch.Tensor, z: torch.Tensor, y=None) -> torch.Tensor:
        return self.vae.log_likelihood(x, z, y)

    def images(self, z: torch.Tensor, y=None) -> torch.Tensor:
        return self.vae.images(z, y)

    def reconstruct(self, x: torch.Tensor, y=None) -> torch.Tensor:
        return self.vae.reconstruct(x, self.classify(x).argmax(-1) if y is None else y)


def balanced_subset(labels: np.ndarray, count: int, seed: int = 0) -> np.ndarray:
    """Sorted indices of ``count`` examples, as evenly spread over the classes as they allow (seeded draw)."""
    labels = np.asarray(labels)
    classes = np.unique(labels)
    if not 0 < count <= len(labels):
        raise ValueError(f"cannot take {counted(count, 'labelled example')} from {len(labels)}")
    rng = np.random.default_rng(seed)
    pools = {c: list(rng.permutation(np.flatnonzero(labels == c))) for c in classes}
    chosen: list[int] = []
    while len(chosen) < count:                   # round-robin over classes that still have examples
        for c in rng.permutation(classes):
            if pools[c] and len(chosen) < count:
                chosen.append(int(pools[c].pop()))
    return np.sort(np.array(chosen))


class SemiSupervisedDataset(Dataset):
    """Item i: (unlabelled image i, labelled image, its label), the labelled set cycled to the unlabelled length.

    When every example is labelled (no unlabelled ones), the labelled images
    stand in for the unlabelled slot, whose term then has weight zero.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray, labelled: np.ndarray):
        mask = np.zeros(len(images), dtype=bool)
        mask[labelled] = True
        self.labelled = ImageDataset(images[mask], labels[mask])
        self.unlabelled = ImageDataset(images[~mask], labels[~mask]) if (~mask).any() else self.labelled
        self.labelled_count, self.unlabelled_count = int(mask.sum()), int((~mask).sum())

    def __len__(self) -> int:
        return max(len(self.unlabelled), len(self.labelled))

    def __getitem__(self, index: int):
        x_u, _ = self.unlabelled[index % len(self.unlabelled)]
        x_l, y_l = self.labelled[index % len(self.labelled)]      # the trainer shuffles the indices
        return x_u, x_l, y_l
