"""Maximum-likelihood training: the task shared by autoregressive models and VAEs.

A subclass says how a batch becomes a loss (a negative log-likelihood, or a
negative ELBO) in nats per dimension; this class owns the optimiser (Adam),
gradient clipping, and evaluation on held-out batches. The :class:`Trainer`
runs it like any other task.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import torch
from torch import nn

from wavegen.core.distributed import average_gradients
from wavegen.core.trainer import to_device


class LikelihoodTask:
    """Minimise ``loss(batch)`` with Adam; evaluate its mean over ``validation`` batches."""

    def __init__(self, model: nn.Module, *, lr: float = 1e-3, grad_clip: float = 1.0,
                 validation: Sequence[Any] = ()):
        self.model = model
        self.optimizers = {"model": torch.optim.Adam(model.parameters(), lr=lr)}
        self.grad_clip = grad_clip
        self.validation = list(validation)

    def loss(self, batch: Any) -> torch.Tensor:
        """Mean negative log-likelihood of ``batch`` in nats per dimension."""
        raise NotImplementedError

    def train_step(self, batch: Any, step: int) -> dict[str, float]:
        opt = self.optimizers["model"]
        opt.zero_grad(set_to_none=True)
        loss = self.loss(batch)
        loss.backward()
        average_gradients(self.model)
        norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip) if self.grad_clip else None
        opt.step()
        logs = {"nll": loss.item(), "bits": loss.item() / math.log(2)}
        if norm is not None:
            logs["grad_norm"] = float(norm)
        return logs

    def evaluate(self) -> dict[str, float]:
        if not self.validation:
            return {}
        device = next(self.model.parameters()).device
        total = sum(self.loss(to_device(batch, device)).item() for batch in self.validation)
        nll = total / len(self.validation)
        return {"val_nll": nll, "val_bits": nll / math.log(2)}


@torch.no_grad()
def predict_in_batches(classifier: nn.Module, inputs: torch.Tensor, batch_size: int = 256
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """(class probabilities (N, classes), features (N, F)) on the CPU, from a classifier with ``embed``
    (inputs -> penultimate features) and ``output`` (features -> logits), in eval mode, ``batch_size`` at a time.
    """
    was_training = classifier.training
    classifier.eval()
    device = next(classifier.parameters()).device
    probs, feats = [], []
    for chunk in inputs.split(batch_size):
        features = classifier.embed(chunk.to(device).float())
        probs.append(classifier.output(features).softmax(-1).cpu())
        feats.append(features.cpu())
    classifier.train(was_training)
    return torch.cat(probs), torch.cat(feats)


class ClassifierTask(LikelihoodTask):
    """Cross-entropy training (the negative log-likelihood of the labels); validation accuracy beside it.

    A batch is ``(inputs, labels)``; ``augment(inputs)`` (if given) transforms
    training inputs only, drawing from the global RNG that the trainer seeds per step.
    """

    def __init__(self, model: nn.Module, *, lr: float = 1e-3, augment=None, weight_decay: float = 0.0,
                 validation: Sequence[Any] = ()):
        super().__init__(model, lr=lr, grad_clip=0.0, validation=validation)
        if weight_decay:
            self.optimizers["model"] = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
        self.augment = augment

    def loss(self, batch) -> torch.Tensor:
        inputs, labels = batch
        if self.model.training and self.augment is not None:
            inputs = self.augment(inputs)
        return torch.nn.functional.cross_entropy(self.model(inputs), labels)

    def evaluate(self) -> dict[str, float]:
        scores = super().evaluate()
        if self.validation:
            device = next(self.model.parameters()).device
            right = total = 0
            for inputs, labels in self.validation:
                right += (self.model(inputs.to(device)).argmax(-1) == labels.to(device)).sum().item()
                total += labels.numel()
            scores["val_accuracy"] = right / total
        return scores
