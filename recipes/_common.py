"""What every recipe does first: config with overrides, experiment folder, device, corpus location."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import torch

from wavegen.core import distributed as dist
from wavegen.core.experiment import Experiment, apply_overrides
from wavegen.core.trainer import resolve_device
from wavegen.errors import WavegenError


def begin(exp_dir: Path, data_root: Path | None, overrides: list[str], base_config: dict,
          make_corpus: Callable[[Path], Path] | None, expected: str) -> tuple[dict, Experiment, torch.device, Path]:
    """(config, experiment, device, data root); a generated corpus is written as the "corpus" stage.

    ``expected`` describes what --data-root must hold, for the error when it is missing.
    """
    config = apply_overrides(base_config, overrides)
    exp = Experiment(exp_dir, config)
    device = resolve_device(config["train"]["device"])
    dist.init_if_launched(device)
    if make_corpus is not None:
        data_root = exp.stage("corpus", config.get("corpus"),
                              lambda: {"root": str(make_corpus(exp.dir / "corpus"))})["root"]
    if data_root is None:
        raise WavegenError(f"--data-root is required: {expected}")
    return config, exp, device, Path(data_root)
