"""What every recipe does first: config with overrides, corpus location, experiment folder, device.

Everything a user can get wrong (a mistyped ``--set``, a missing or misshapen
corpus, an unavailable device) is checked here, before anything is written.
What a corpus must hold for a config (enough training examples for one step,
test utterances to hold out and score) is checked with the helpers below: from
the layout before anything is written, and from the prepared cache (lengths,
crops) before training.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Callable

import torch

from wavegen.core import distributed as dist
from wavegen.core.checkpoint import read_checkpoint
from wavegen.core.device import resolve_device
from wavegen.core.experiment import Experiment, apply_overrides
from wavegen.core.trainer import TrainConfig, Trainer
from wavegen.data.corpora import CORPUS_NAMES, SCANNERS, CorpusManifest, WaveformCrops
from wavegen.data.locate import locate_corpus
from wavegen.errors import DatasetError, WavegenError
from wavegen.words import counted


def begin(exp_dir: Path, data_root: Path | None, overrides: list[str], base_config: dict, *,
          check_config: Callable[[dict], object], corpus: str | None = None,
          check_layout: Callable[[Path, dict], object] | None = None,
          make_corpus: Callable[[Path], Path] | None = None) -> tuple[dict, Experiment, torch.device, Path]:
    """(config, experiment, device, data root).

    ``check_config(config)`` builds what is cheap to build from the config (the
    model on the meta device, the training settings) so that a value it cannot
    take is refused now rather than after data preparation. A real ``corpus``
    ("voicebank", "vctk", "ljspeech") is found at ``data_root`` or its default
    location and checked with ``check_layout(root, config)``; a generated one is
    written by ``make_corpus(folder)`` as the "corpus" stage.
    """
    config = apply_overrides(base_config, overrides)
    try:
        with torch.device("meta"):
            check_config(config)
    except (ValueError, TypeError, RuntimeError) as exc:
        raise WavegenError(f"--set: the config does not work: {exc}") from None
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


def train_config(cfg: dict, device: torch.device, max_steps: int | None = None) -> TrainConfig:
    """The trainer's settings from a recipe's ``train`` section (``max_steps`` when computed from epochs)."""
    return TrainConfig(max_steps=max_steps or cfg["max_steps"], batch_size=cfg["batch_size"], seed=cfg["seed"],
                       device=str(device), log_every=cfg["log_every"], eval_every=cfg["eval_every"],
                       checkpoint_every=cfg["checkpoint_every"], ema_decay=cfg["ema_decay"],
                       select_by=cfg.get("select_by", ""), select_mode=cfg.get("select_mode", "max"),
                       warmup_steps=cfg.get("warmup_steps", 0), lr_schedule=cfg.get("lr_schedule", "constant"))


def check_positive(config: dict, *keys: str) -> None:
    """``section.key`` values that must be at least 1."""
    for key in keys:
        section, name = key.split(".")
        if config[section][name] < 1:
            raise WavegenError(f"{key} must be at least 1, got {config[section][name]}")


def model_kwargs(cls: type, preset: dict, *, skip: tuple[str, ...] = (), **extra) -> dict:
    """Every constructor argument of ``cls`` (its defaults, then ``preset`` and ``extra``), so each can be --set.

    Tuples become lists, the form ``--set`` and config.json use.
    """
    params = inspect.signature(cls.__init__).parameters
    kwargs = {name: p.default for name, p in params.items() if name not in ("self", *skip)}
    kwargs.update(preset, **extra)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in kwargs.items()}


def fit(exp: Experiment, task, dataset, cfg: dict, device: torch.device, batch_size: int | None = None,
        folder: Path | None = None, batch_parts: str = "") -> dict:
    """Train ``task`` on ``dataset`` with a recipe's ``train`` settings into ``folder`` (the experiment's).

    ``batch_parts`` says what ``batch_size`` is made of when it is not ``train.batch_size``.
    """
    settings = train_config(cfg, device)
    if batch_size is not None:
        settings.batch_size = batch_size
    settings.batch_parts = batch_parts
    path = Trainer(task, dataset, settings, folder or exp.dir).fit()
    header, _ = read_checkpoint(path)
    return {"checkpoint": str(path), "step": header["step"], "sha256": header["sha256"]}


def require_batches(count: int, batch_size: int, what: str, parts: str = "") -> None:
    """Refuse, before training, training data that cannot fill one step's batches.

    ``what`` names the data and its ``count`` examples ("SC09 at data/sc09: the
    train split has 3 clips"); ``parts`` says what ``batch_size`` is made of when
    it is not simply ``train.batch_size`` ("batch 4 × 5 critic steps").
    """
    if count < batch_size:
        needed = (f"one step's batches ({batch_size} = {parts})" if parts
                  else f"one batch (train.batch_size={batch_size})")
        raise DatasetError(f"{what}, fewer than {needed}; lower train.batch_size or use more data")


def check_utterance_corpus(kind: str, root: Path, config: dict) -> None:
    """An utterance corpus's layout, and whether it can spare ``data.test_utterances`` (before anything is written).

    Every speaker keeps one utterance for training
    (:func:`wavegen.data.corpora.prepare_corpus`), so at most utterances − speakers are held out.
    """
    utterances = SCANNERS[kind](root)
    speakers = len({u.speaker for u in utterances})
    asked, spare = config["data"]["test_utterances"], len(utterances) - speakers
    if asked > spare:
        raise DatasetError(f"{CORPUS_NAMES[kind]} at {root}: data.test_utterances={asked}, but its "
                           f"{counted(len(utterances), 'utterance')} of {counted(speakers, 'speaker')} can spare "
                           f"at most {spare} for testing (every speaker keeps one to train on); "
                           f"lower data.test_utterances or use more data")


def check_prepared_utterances(kind: str, root: Path, manifest: CorpusManifest, config: dict, *, crop: int, hop: int,
                              crop_key: str, shortest_test: int = 0, test_use: str = "") -> None:
    """Before training: the training split fills a batch of crops, and no test utterance is too short to use.

    ``crop`` samples every ``hop`` (``crop_key`` names the setting) are cut from
    each training utterance as :class:`~wavegen.data.corpora.WaveformCrops`
    does; ``shortest_test`` is the fewest samples a test utterance needs for
    ``test_use`` (e.g. its log-mel spectrogram).
    """
    name = f"{CORPUS_NAMES[kind]} at {root}"
    training = len(manifest.indices("train"))
    crops = len(WaveformCrops(manifest, "train", crop, hop))
    require_batches(crops, config["train"]["batch_size"],
                    f"{name}: its {counted(training, 'training utterance')} {'gives' if training == 1 else 'give'} "
                    f"{counted(crops, 'crop')} of {crop_key}={crop} samples")
    short = [u.name for u in manifest.utterances if u.split == "test" and u.length < shortest_test]
    if short:
        rate = manifest.sample_rate
        raise DatasetError(f"{name}: {counted(len(short), 'test utterance')} ({', '.join(short[:3])}"
                           f"{', ...' if len(short) > 3 else ''}) {'is' if len(short) == 1 else 'are'} shorter than "
                           f"the {shortest_test} samples ({1000 * shortest_test / rate:.0f} ms at {rate} Hz) "
                           f"{test_use} needs; remove such clips from the corpus")


def main_process_only() -> bool:
    """After data-parallel training, the main process goes on alone; True there."""
    main = dist.rank() == 0
    dist.shutdown()
    return main


def split_overrides(overrides: list[str]) -> tuple[list[str], list[str]]:
    """(``--set classifier.KEY=VALUE`` for the classifier recipe a run may have to train, the rest)."""
    return ([o.removeprefix("classifier.") for o in overrides if o.startswith("classifier.")],
            [o for o in overrides if not o.startswith("classifier.")])


def checkpoint_digest(path: str) -> str:
    """A checkpoint's identity for a stage fingerprint: its checksum, so a retrained one re-runs the stage."""
    try:
        return read_checkpoint(path, verify=False)[0]["sha256"]
    except WavegenError:
        return path
