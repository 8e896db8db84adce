"""A spoken-word classifier on log-mel spectrograms: the judge behind the generation scores.

Donahue et al. 2019 (§6.1) score SC09 generators with a classifier trained on
the real data: its predictions give the inception score (Salimans et al.
2016) and, here, its penultimate activations the Fréchet distance (Heusel et
al. 2017). Ours is a small convolutional network in the style of keyword
spotting models (Sainath and Parada 2015): four blocks of 3 × 3 convolution,
batch norm, ReLU and 2 × 2 max pooling over a log-mel image, global average
pooling, a dense embedding (the features) and a linear layer to the classes.
Each clip's log-mel image has its mean removed, so the level of a recording
does not matter.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from wavegen.audio.features import MelSpec, log_mel
from wavegen.core.capabilities import Classifier
from wavegen.core.likelihood import ClassifierTask, predict_in_batches
from wavegen.core.registry import register_model

CLASSIFIER_CONFIGS: dict[str, dict] = {
    "default": {},
    "tiny": {"channels": [4, 4, 8, 8], "embedding": 8},
}


@register_model("audio_classifier")
class AudioClassifier(Classifier, nn.Module):
    """(B, T) audio -> (B, classes) logits; :meth:`embed` gives the (B, embedding) features."""

    family = "classifier"

    def __init__(self, labels: list[str] = (), sample_rate: int = 16000, n_fft: int = 512, hop: int = 128,
                 n_mels: int = 64, fmin: float = 20.0, fmax: float | None = None,
                 channels: list[int] = (32, 64, 128, 128), embedding: int = 128, dropout: float = 0.3):
        super().__init__()
        if len(labels) < 2:
            raise ValueError(f"a classifier needs at least two labels, got {list(labels)}")
        self.config = dict(labels=list(labels), sample_rate=sample_rate, n_fft=n_fft, hop=hop, n_mels=n_mels,
                           fmin=fmin, fmax=fmax, channels=list(channels), embedding=embedding, dropout=dropout)
        self.labels, self.sample_rate = list(labels), sample_rate
        self.mel = MelSpec(sample_rate, n_fft, hop, n_mels, fmin, fmax)
        widths = [1, *channels]
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(),
                          nn.MaxPool2d(2))
            for c_in, c_out in zip(widths, widths[1:]))
        self.embedding = nn.Linear(widths[-1], embedding)
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(embedding, len(labels))

    def embed(self, audio: torch.Tensor) -> torch.Tensor:
        """(B, T) -> (B, embedding): the penultimate activations the Fréchet distance compares."""
        x = log_mel(audio, self.mel)                                   # (B, n_mels, frames)
        x = (x - x.mean(dim=(1, 2), keepdim=True)).unsqueeze(1) / 4    # (B, 1, n_mels, frames)
        for block in self.blocks:
            x = block(x)                                               # halves both axes
        return F.relu(self.embedding(x.mean(dim=(2, 3))))              # global average pool

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return self.output(self.dropout(self.embed(audio)))

    def predict(self, audio: torch.Tensor, batch_size: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
        """(class probabilities (N, classes), features (N, embedding)) for (N, T) audio, in eval mode."""
        return predict_in_batches(self, audio, batch_size)


def shift_and_gain(audio: torch.Tensor, max_shift: int, gain_db: float) -> torch.Tensor:
    """Each clip moved by up to ±``max_shift`` samples (zeros fill the gap) and scaled by ±``gain_db``.

    A word can start anywhere in a one-second clip and be spoken at any level;
    the classifier should not care. Draws from the global RNG (seeded per step).
    """
    batch, length = audio.shape
    shifts = torch.randint(-max_shift, max_shift + 1, (batch,)).tolist()
    moved = torch.stack([torch.roll(F.pad(x, (max_shift, max_shift)), s)[max_shift:max_shift + length]
                         for x, s in zip(audio, shifts)])
    gains = 10 ** (torch.empty(batch, 1).uniform_(-gain_db, gain_db) / 20)
    return (moved * gains.to(audio.device)).clamp(-1, 1)


def classifier_task(model: AudioClassifier, *, lr: float = 1e-3, max_shift: int = 1600, gain_db: float = 6.0,
                    validation=()) -> ClassifierTask:
    """The core's cross-entropy task with random shifts and gains of the training clips."""
    return ClassifierTask(model, lr=lr, augment=lambda audio: shift_and_gain(audio, max_shift, gain_db),
                          validation=validation)
