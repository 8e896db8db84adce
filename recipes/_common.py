"""What every recipe does first: config with overrides, corpus location, experiment folder, device.

Everything a user can get wrong (a mistyped ``--set``, a missing or misshapen
corpus, an unavailable device) is checked here, before anything is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import torch

from wavegen.core import distributed as dist
from wavegen.core.experiment import Experiment, apply_overrides
from wavegen.core.trainer import resolve_device
from wavegen.data.locate import locate_corpus
from wavegen.errors import WavegenError


def begin(exp_dir: Path, data_root: Path | None, overrides: list[str], base_config: dict, *,
          corpus: str | None = None, check_layout: Callable[[Path, dict], object] | None = None,
          make_corpus: Callable[[Path], Path] | None = None) -> tuple[dict, Experiment, torch.device, Path]:
    """(config, experiment, device, data root).

    A real ``corpus`` ("voicebank", "vctk", "ljspeech") is found at ``data_root``
    or its default location and checked with ``check_layout(root, config)``; a
    generated one is written by ``make_corpus(folder)`` as the "corpus" stage.
    """
    config = apply_overrides(base_config, overrides)
    device = resolve_device(config["train"]["device"])
    if make_corpus is None:
        data_root = locate_corpus(corpus, data_root, lambda root: check_layout(root, config))
        exp_path, corpus_path = Path(exp_dir).resolve(), Path(data_root).resolve()
        if exp_path.is_relative_to(corpus_path) or corpus_path.is_relative_to(exp_path):
            raise WavegenError(f"--exp-dir {exp_dir} and the corpus at {data_root} lie one inside the other; "
                               f"choose an experiment folder apart from the data")
    exp = Experiment(exp_dir, config)
    dist.init_if_launched(device)
    if make_corpus is not None:
        data_root = exp.stage("corpus", config.get("corpus"),
                              lambda: {"root": str(make_corpus(exp.dir / "corpus"))})["root"]
    return config, exp, device, Path(data_root)
