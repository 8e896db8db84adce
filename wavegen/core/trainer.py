"""One training loop for every family.

A *task* (``GANTask`` for GANs, and the VAE/autoregressive tasks alike) owns the
models, optimisers and the update rule; the :class:`Trainer` owns everything
around it: batches in a reproducible order, devices, mixed precision,
distributed data parallelism, periodic evaluation, checkpoints, logs and
resuming.

Reproducibility. Batch order is a pure function of (seed, epoch), and the
random state at each step is re-derived from (seed, step, process rank) before
the step runs. The training position (epoch, batch) and step number, with the
model and optimiser state, therefore determine everything that follows: a run
killed after any checkpoint and resumed gives bit-identical weights to one
that never stopped (on the CPU), whatever ran in between (evaluation, logging).
Resuming takes the newest intact checkpoint: one torn by a crash while it was
written is passed over with a one-line warning (at least two are kept for that).
"""

from __future__ import annotations

import logging
import math
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn

from wavegen.core import distributed as dist
from wavegen.core.checkpoint import (flatten_state, read_checkpoint, save_checkpoint, split_tensors,
                                     unflatten_state)
from wavegen.core.device import cpu_has_native_bf16, resolve_device, step_seed
from wavegen.core.optim import LR_SCHEDULES, WeightAverage, schedule_learning_rate
from wavegen.core.runlog import RunLogs
from wavegen.errors import CheckpointError, WavegenError
from wavegen.words import counted

log = logging.getLogger(__name__)


class Task(Protocol):
    model: nn.Module                                  # what checkpoints store and ``load`` rebuilds
    optimizers: dict[str, torch.optim.Optimizer]

    def train_step(self, batch: Any, step: int) -> dict[str, float]: ...


@dataclass
class TrainConfig:
    max_steps: int = 1000
    batch_size: int = 16                 # global batch, split across processes
    seed: int = 0
    device: str = "auto"                 # cpu | cuda | auto
    amp: bool = True                     # bfloat16 autocast on CUDA, and on CPUs with native bf16
    log_every: int = 10
    eval_every: int = 0                  # 0: only at the end
    checkpoint_every: int = 500
    keep_checkpoints: int = 3            # at least 2: a torn newest one falls back to the one before
    ema_decay: float = 0.0               # >0: evaluate and publish an exponential moving average of the weights
    select_by: str = ""                  # a metric of the evaluation: publish the weights where it was best
    select_mode: str = "max"             # max | min: which way select_by is better ("" above: the last weights)
    warmup_steps: int = 0                # >0: every optimiser's learning rate ramps up linearly over these steps
    lr_schedule: str = "constant"        # constant | cosine (to a tenth of the rate at max_steps)
    progress: bool = True
    batch_parts: str = ""                # what makes up batch_size, for messages: "batch 4 × 5 critic steps"

    def __post_init__(self):
        """Refuse impossible settings up front, named as a recipe's ``train.*`` keys."""
        for name, least in (("max_steps", 1), ("batch_size", 1), ("log_every", 1), ("keep_checkpoints", 2),
                            ("eval_every", 0), ("checkpoint_every", 0), ("warmup_steps", 0)):
            if getattr(self, name) < least:
                raise WavegenError(f"train.{name} must be at least {least}, got {getattr(self, name)}")
        if not 0 <= self.ema_decay < 1:
            raise WavegenError(f"train.ema_decay must be at least 0 and below 1, got {self.ema_decay}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise WavegenError(f"train.lr_schedule must be one of {', '.join(LR_SCHEDULES)}, got {self.lr_schedule!r}")
        if self.select_mode not in ("max", "min"):
            raise WavegenError(f"train.select_mode must be max or min, got {self.select_mode!r}")


class EpochBatches:
    """Global batches of dataset indices in a seeded order per epoch; each process takes its share.

    ``parts`` says what ``batch_size`` is made of when it is not simply the batch
    ("batch 4 × 5 critic steps"), for the message when the data cannot fill it.
    """

    def __init__(self, dataset_size: int, batch_size: int, seed: int, parts: str = ""):
        world = dist.world_size()
        if batch_size % world:
            raise WavegenError(f"batch size {batch_size} does not split evenly over {world} processes")
        if dataset_size < batch_size:
            needed = f"one step's batches ({batch_size} = {parts})" if parts else f"one batch ({batch_size})"
            raise WavegenError(f"the training set has {counted(dataset_size, 'example')}, fewer than {needed}; "
                               f"lower train.batch_size or train on more data")
        self.size, self.batch_size, self.seed = dataset_size, batch_size, seed
        self.per_epoch = dataset_size // batch_size       # drop the last partial batch

    def indices(self, epoch: int, batch: int) -> list[int]:
        g = torch.Generator().manual_seed(self.seed * 65_537 + epoch)
        order = torch.randperm(self.size, generator=g)
        chosen = order[batch * self.batch_size:(batch + 1) * self.batch_size]
        return chosen[dist.rank()::dist.world_size()].tolist()


def stack_examples(examples: list[Any]) -> Any:
    """Collate ``dataset[i]`` items (tensors or tuples/dicts of tensors) into a batch."""
    first = examples[0]
    if isinstance(first, torch.Tensor):
        return torch.stack(examples)
    if isinstance(first, (tuple, list)):
        return type(first)(stack_examples(list(items)) for items in zip(*examples))
    if isinstance(first, dict):
        return {k: stack_examples([e[k] for e in examples]) for k in first}
    return torch.as_tensor(examples)


def to_device(batch: Any, device: torch.device) -> Any:
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, (tuple, list)):
        return type(batch)(to_device(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    return batch


class Trainer:
    """Train ``task`` on ``dataset`` into the experiment folder ``exp_dir``.

    ``exp_dir/checkpoints/step-*.safetensors`` are full training checkpoints;
    ``exp_dir/model.safetensors`` is the final model, or with ``select_by`` the
    weights of the evaluation where that metric was best (kept as they are found
    in ``checkpoints/best.safetensors``; the choice is in the header's
    ``selection``); ``exp_dir/logs`` holds ``train.csv``, ``eval.csv`` and
    TensorBoard event files.
    """

    def __init__(self, task: Task, dataset, config: TrainConfig, exp_dir: str | Path, *, evaluate=None):
        self.task, self.dataset, self.config = task, dataset, config
        self.exp_dir = Path(exp_dir)
        self.evaluate = evaluate if evaluate is not None else getattr(task, "evaluate", None)
        self.device = resolve_device(config.device)
        dist.init_if_launched(self.device)
        self.is_main = dist.rank() == 0
        self.batches = EpochBatches(len(dataset), config.batch_size, config.seed, config.batch_parts)
        self.step, self.epoch, self.batch_in_epoch = 0, 0, 0
        self._saved_step: int | None = None  # the step of the training checkpoint this run last wrote or read
        self.ema = WeightAverage(task.model, config.ema_decay) if config.ema_decay > 0 else None
        self.best: dict | None = None        # {metric, mode, step, value} of the best evaluation so far

    @property
    def checkpoint_dir(self) -> Path:
        return self.exp_dir / "checkpoints"

    @property
    def model_path(self) -> Path:
        return self.exp_dir / "model.safetensors"

    @property
    def best_path(self) -> Path:
        return self.checkpoint_dir / "best.safetensors"

    # --- the loop ------------------------------------------------------------------------
    def fit(self) -> Path:
        cfg, model = self.config, self.task.model
        if cfg.select_by and self.evaluate is None:
            raise WavegenError(f"train.select_by={cfg.select_by!r}: this task has no evaluation to select by")
        model.to(self.device)
        if self.ema is not None:
            self.ema.reset(model)                   # on the device; _resume replaces it when resuming
        self._resume()
        dist.broadcast_module(model)
        logger = RunLogs(self.exp_dir / "logs", self.step) if self.is_main else None
        bar = _progress(cfg.max_steps, self.step, enabled=cfg.progress and self.is_main)
        use_amp = cfg.amp and (self.device.type == "cuda" or cpu_has_native_bf16())
        started = time.perf_counter()
        try:
            while self.step < cfg.max_steps:
                batch = self._next_batch()
                torch.manual_seed(step_seed(cfg.seed, self.step, dist.rank()))
                if cfg.warmup_steps or cfg.lr_schedule != "constant":
                    schedule_learning_rate(self.task.optimizers.values(), self.step, warmup_steps=cfg.warmup_steps,
                                           total_steps=cfg.max_steps, schedule=cfg.lr_schedule)
                model.train()
                with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=use_amp):
                    logs = self.task.train_step(batch, self.step)
                if self.ema is not None:
                    self.ema.update(model)
                self.step += 1
                bar.update(1)
                if self.step % cfg.log_every == 0 or self.step == cfg.max_steps:
                    logs = dist.mean_across_processes(logs)
                    if logger:
                        logger.write("train", self.step, logs, time.perf_counter() - started)
                    bar.set_postfix({k: f"{v:.3g}" for k, v in list(logs.items())[:4]}, refresh=False)
                if cfg.eval_every and self.step % cfg.eval_every == 0 and self.step < cfg.max_steps:
                    self._run_evaluation(logger, started)
                if cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0:
                    self.save()
        finally:
            bar.close()
        self._run_evaluation(logger, started)
        self.save()
        if self.is_main:
            if self.best is not None:
                self._publish_best()
            else:
                with self._published_weights():
                    save_checkpoint(self.model_path, model, step=self.step)
        if logger:
            logger.close()
        dist.barrier()
        return self.model_path

    def _next_batch(self):
        if self.batch_in_epoch >= self.batches.per_epoch:
            self.epoch, self.batch_in_epoch = self.epoch + 1, 0
        idx = self.batches.indices(self.epoch, self.batch_in_epoch)
        self.batch_in_epoch += 1
        return to_device(stack_examples([self.dataset[i] for i in idx]), self.device)

    def _run_evaluation(self, logger, started: float) -> None:
        if self.evaluate is None:
            return
        self.task.model.eval()
        with torch.no_grad(), self._published_weights():
            metrics = dist.mean_across_processes(self.evaluate())
            if self.config.select_by:
                self._keep_if_best(metrics)
        if logger and metrics:
            logger.write("eval", self.step, metrics, time.perf_counter() - started)
            log.info("step %d: %s", self.step, ", ".join(f"{k}={v:.4g}" for k, v in metrics.items()))

    def _keep_if_best(self, metrics: dict[str, float]) -> None:
        """Inside the published weights: keep them in best.safetensors if ``select_by`` improved (NaN never does)."""
        cfg = self.config
        if cfg.select_by not in metrics:
            raise WavegenError(f"train.select_by={cfg.select_by!r}: the evaluation gives "
                               f"{', '.join(metrics) or 'no metrics'}")
        value = float(metrics[cfg.select_by])
        if math.isnan(value) or (self.best is not None and not (
                value > self.best["value"] if cfg.select_mode == "max" else value < self.best["value"])):
            return
        self.best = {"metric": cfg.select_by, "mode": cfg.select_mode, "step": self.step, "value": value}
        if self.is_main:
            save_checkpoint(self.best_path, self.task.model, step=self.step, selection=self.best)

    def _publish_best(self) -> None:
        """model.safetensors from best.safetensors, with the selection in its header."""
        model = self.task.model
        _, tensors = read_checkpoint(self.best_path)
        weights, _ = split_tensors(tensors)
        trained = {k: v.clone() for k, v in model.state_dict().items()}
        model.load_state_dict(weights)
        try:
            save_checkpoint(self.model_path, model, step=self.best["step"], selection=self.best)
        finally:
            model.load_state_dict(trained)

    @contextmanager
    def _published_weights(self):
        """Inside, the model holds the weights that evaluation and ``model.safetensors`` use."""
        if self.ema is None:
            yield
            return
        model = self.task.model
        trained = {k: v.clone() for k, v in model.state_dict().items()}
        model.load_state_dict(self.ema.state(model))
        try:
            yield
        finally:
            model.load_state_dict(trained)

    # --- checkpoints ---------------------------------------------------------------------
    def save(self) -> Path | None:
        """Write a full training checkpoint for the current step (main process only).

        Older ones beyond ``keep_checkpoints`` are deleted only once it is on disk
        (written, fsynced and renamed into place), so at least two intact ones remain.
        """
        path = self.checkpoint_dir / f"step-{self.step:08d}.safetensors"
        if self.is_main and self._saved_step != self.step:
            tensors: dict[str, torch.Tensor] = {}
            optim = {name: flatten_state(opt.state_dict(), f"optim/{name}", tensors)
                     for name, opt in self.task.optimizers.items()}
            if self.ema is not None:
                tensors.update({f"ema/{k}": v for k, v in self.ema.averages.items()})
            state = {"step": self.step, "epoch": self.epoch, "batch_in_epoch": self.batch_in_epoch,
                     "optimizers": optim, "train_config": asdict(self.config),
                     "world_size": dist.world_size(), "ema_updates": self.ema.updates if self.ema else 0,
                     "best": self.best}
            save_checkpoint(path, self.task.model, step=self.step, train_tensors=tensors, train_state=state)
            self._saved_step = self.step
            # Later ones are unreadable leftovers resumed past; they are replaced when training gets there.
            earlier = [p for p in self.checkpoints() if p.name <= path.name]
            for old in earlier[:-self.config.keep_checkpoints]:
                old.unlink(missing_ok=True)
        dist.barrier()
        return path

    def checkpoints(self) -> list[Path]:
        """The training checkpoints in the experiment folder, oldest first."""
        return sorted(self.checkpoint_dir.glob("step-*.safetensors"))

    def latest_checkpoint(self) -> Path | None:
        found = self.checkpoints()
        return found[-1] if found else None

    def _latest_intact(self) -> tuple[Path, dict, dict] | None:
        """(path, header, tensors) of the newest readable training checkpoint; None if there are none.

        An unreadable newest one (torn by a crash or a full disk) gets a one-line
        warning and the newest intact one is taken; if none is intact, the newest one's error.
        """
        unreadable: list[CheckpointError] = []
        for path in reversed(self.checkpoints()):
            try:
                header, tensors = read_checkpoint(path)
            except CheckpointError as error:
                unreadable.append(error)
                continue
            if unreadable:
                others = len(unreadable) - 1
                more = f", as {'is' if others == 1 else 'are'} {counted(others, 'earlier one')}" if others else ""
                log.warning("%s is unreadable (%s)%s; resuming from %s", unreadable[0].path, unreadable[0].problem,
                            more, path.stem)
            return path, header, tensors
        if unreadable:
            raise unreadable[0]
        return None

    def _resume(self) -> None:
        latest = self._latest_intact()
        if latest is None:
            return
        path, header, tensors = latest
        model = self.task.model
        if header["model"] != getattr(model, "registry_name", None) or header["config"] != getattr(model, "config", {}):
            raise CheckpointError(path, f"the experiment folder holds a checkpoint of another model or config "
                                  f"({header['model']}); use a new experiment folder to start afresh")
        weights, train = split_tensors(tensors)
        model.load_state_dict(weights)
        state = header["train_state"]
        for name, opt in self.task.optimizers.items():
            opt.load_state_dict(unflatten_state(state["optimizers"][name], train))
        self.step, self.epoch, self.batch_in_epoch = state["step"], state["epoch"], state["batch_in_epoch"]
        self._saved_step = self.step
        best = state.get("best")
        # A best found under another criterion does not count for this one.
        self.best = best if best and (best["metric"], best["mode"]) == (self.config.select_by,
                                                                        self.config.select_mode) else None
        if self.ema is not None:
            averages = {k[len("ema/"):]: v for k, v in train.items() if k.startswith("ema/")}
            if averages:
                self.ema.load(averages, state.get("ema_updates", self.step))
        log.info("resumed from %s at step %d", path, self.step)


def _progress(total: int, initial: int, enabled: bool):
    from tqdm.auto import tqdm
    return tqdm(total=total, initial=initial, disable=None if enabled else True, desc="train", unit="step",
                dynamic_ncols=True, leave=False)

