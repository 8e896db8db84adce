"""The data side of semi-supervised learning: a balanced labelled subset and mixed batches for M2.

Kingma et al. 2014 (§4.2) keep n labels spread evenly over the classes and
treat the rest of the training set as unlabelled; each M2 step sees a batch of
unlabelled images and a batch of labelled ones.
"""

from __future__ import annotations

import numpy as np
from torch.utils.data import Dataset

from wavegen.vision.images import ImageDataset


def balanced_subset(labels: np.ndarray, count: int, seed: int = 0) -> np.ndarray:
    """Sorted indices of ``count`` examples, as evenly spread over the classes as they allow (seeded draw)."""
    labels = np.asarray(labels)
    classes = np.unique(labels)
    if not 0 < count <= len(labels):
        raise ValueError(f"cannot take {count} labelled examples from {len(labels)}")
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
