"""What the trainer does to weights and learning rates besides the task's own update.

:func:`schedule_learning_rate` sets every optimiser's learning rate for a step (warm-up, decay);
:class:`WeightAverage` keeps the exponential moving average of the weights that
evaluation and the published model use.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from wavegen.errors import WavegenError


LR_SCHEDULES = ("constant", "cosine")


def schedule_learning_rate(optimizers, step: int, *, warmup_steps: int = 0, total_steps: int = 0,
                           schedule: str = "constant", floor: float = 0.1) -> None:
    """Every optimiser's learning rate at ``step``, as a factor of its initial value.

    A linear warm-up to 1 over ``warmup_steps`` ((step + 1) / warmup_steps): RMSprop and
    Adam without bias correction take steps up to 1/sqrt(1 - alpha) times the learning
    rate at first (10x for RMSprop's alpha = 0.99), which can throw a GAN's generator into
    saturation in its first few steps. Then ``constant``, or ``cosine``: half a cosine from
    1 down to ``floor`` at ``total_steps`` (Loshchilov and Hutter 2017, without restarts).
    A function of the step alone, so resuming is exact (``initial_lr`` travels in the
    optimiser's state).
    """
    if schedule not in LR_SCHEDULES:
        raise WavegenError(f"learning-rate schedule must be one of {', '.join(LR_SCHEDULES)}, got {schedule!r}")
    factor = 1.0
    if step < warmup_steps:
        factor = (step + 1) / warmup_steps
    elif schedule == "cosine" and total_steps > warmup_steps:
        progress = min(1.0, (step - warmup_steps) / (total_steps - warmup_steps))
        factor = floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))
    for optimizer in optimizers:
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
            group["lr"] = group["initial_lr"] * factor


class WeightAverage:
    """Exponential moving average of a model's floating-point weights (Polyak averaging).

    GAN generators in particular oscillate from step to step; evaluating an
    average of recent weights gives steadier and usually better models (Yazıcı
    et al. 2019, "The unusual effectiveness of averaging in GAN training"). The
    decay ramps up as ``min(decay, (1 + n) / (10 + n))`` after n updates, so a
    short run is not dominated by its random initialisation.
    """

    def __init__(self, model: nn.Module, decay: float):
        if not 0.0 < decay < 1.0:
            raise WavegenError(f"ema_decay must be between 0 and 1 (exclusive), got {decay}")
        self.decay, self.updates = decay, 0
        self.averages: dict[str, torch.Tensor] = {}
        self.reset(model)

    def reset(self, model: nn.Module) -> None:
        self.averages = {k: v.detach().clone() for k, v in model.state_dict().items() if v.is_floating_point()}
        self.updates = 0

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        current = model.state_dict()
        names = list(self.averages)
        torch._foreach_lerp_([self.averages[k] for k in names], [current[k].detach() for k in names], 1.0 - decay)
        self.updates += 1

    def state(self, model: nn.Module) -> dict[str, torch.Tensor]:
        """A full state dict for ``model``: averaged floating-point entries, current others."""
        return {k: self.averages.get(k, v) for k, v in model.state_dict().items()}

    def load(self, averages: dict[str, torch.Tensor], updates: int) -> None:
        missing = set(self.averages) - set(averages)
        if missing:
            raise WavegenError(f"checkpoint lacks weight averages for {sorted(missing)[:3]}")
        self.averages = {k: averages[k].to(v.device) for k, v in self.averages.items()}
        self.updates = updates
