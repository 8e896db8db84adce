import csv
import math
import os

import pytest
import torch

import wavegen
from wavegen.core.device import resolve_device, seed_everything
from wavegen.core.runlog import RunLogs
from wavegen.core.trainer import TrainConfig, Trainer
from wavegen.errors import WavegenError
from tests.support import assert_one_line
from tests.toy import GaussianData, ToyGAN, ToyTask


class Crash(Exception):
    pass


def make_trainer(exp, max_steps, crash_at=None, **cfg):
    seed_everything(7)
    model = ToyGAN()
    task = ToyTask(model)
    if crash_at is not None:
        step = task.train_step

        def crashing_step(batch, i):
            if i == crash_at:
                raise Crash
            return step(batch, i)

        task.train_step = crashing_step
    config = TrainConfig(max_steps=max_steps, batch_size=8, seed=3, device="cpu", log_every=1,
                         checkpoint_every=5, progress=False, **cfg)
    return Trainer(task, GaussianData(n=40), config, exp)


def weights(path):
    return wavegen.load(path).state_dict()


def test_killed_and_resumed_run_matches_uninterrupted(tmp_path):
    straight = make_trainer(tmp_path / "a", 17).fit()

    with pytest.raises(Crash):                       # dies during step 13, after the step-10 checkpoint
        make_trainer(tmp_path / "b", 17, crash_at=12).fit()
    assert sorted(p.name for p in (tmp_path / "b/checkpoints").iterdir())[-1] == "step-00000010.safetensors"
    with open(tmp_path / "b/logs/train.csv", "ab") as log:
        log.write(b"1")                              # and was killed while appending a row: "1" of "13,..."
    resumed = make_trainer(tmp_path / "b", 17).fit()

    a, b = weights(straight), weights(resumed)
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name
    # the log of the resumed run has each step once, in order, with the same values
    rows_a = list(csv.DictReader(open(tmp_path / "a/logs/train.csv")))
    rows_b = list(csv.DictReader(open(tmp_path / "b/logs/train.csv")))
    assert [r["step"] for r in rows_b] == [str(i) for i in range(1, 18)]
    assert [r["g_loss"] for r in rows_a] == [r["g_loss"] for r in rows_b]


def test_a_torn_latest_checkpoint_resumes_from_the_one_before_and_ends_the_same(tmp_path, caplog):
    straight = make_trainer(tmp_path / "a", 17).fit()
    with pytest.raises(Crash):                       # dies during step 13, after the step-10 checkpoint
        make_trainer(tmp_path / "b", 17, crash_at=12).fit()
    latest = tmp_path / "b/checkpoints/step-00000010.safetensors"
    data = latest.read_bytes()
    latest.write_bytes(data[:len(data) // 2])        # torn: the machine went down while it was written
    with caplog.at_level("WARNING", logger="wavegen.core.trainer"):
        trainer = make_trainer(tmp_path / "b", 17)
        resumed = trainer.fit()
    warning, = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warning == (f"{latest} is unreadable (not a readable checkpoint (truncated, or not a safetensors "
                       f"file)); resuming from step-00000005")
    a, b = weights(straight), weights(resumed)
    assert all(torch.equal(a[k], b[k]) for k in a)
    rows = list(csv.DictReader(open(tmp_path / "b/logs/train.csv")))
    assert [r["step"] for r in rows] == [str(i) for i in range(1, 18)]
    # The torn one was written again when training got there; every checkpoint kept is whole.
    from wavegen.core.checkpoint import read_checkpoint
    assert [p.name for p in trainer.checkpoints()] == [f"step-{i:08d}.safetensors" for i in (10, 15, 17)]
    assert all(read_checkpoint(p) for p in trainer.checkpoints())


def test_with_no_intact_checkpoint_the_resume_is_the_one_line_error(tmp_path):
    from wavegen.errors import CheckpointError
    with pytest.raises(Crash):
        make_trainer(tmp_path, 17, crash_at=12).fit()
    for path in (tmp_path / "checkpoints").glob("step-*"):
        path.write_bytes(b"garbage")
    with pytest.raises(CheckpointError) as error:
        make_trainer(tmp_path, 17).fit()
    assert_one_line(error, "step-00000010.safetensors: not a readable checkpoint")


def test_an_old_checkpoint_is_deleted_only_when_two_whole_ones_remain(tmp_path, monkeypatch):
    from pathlib import Path
    from wavegen.core.checkpoint import read_checkpoint
    with pytest.raises(WavegenError, match="train.keep_checkpoints must be at least 2, got 1"):
        make_trainer(tmp_path, 10, keep_checkpoints=1)
    remaining, real_unlink = [], Path.unlink

    def unlink(path, missing_ok=False):
        others = [p for p in (tmp_path / "checkpoints").glob("step-*") if p != path]
        remaining.append(sum(1 for p in others if read_checkpoint(p)))     # each one reads whole
        real_unlink(path, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", unlink)
    make_trainer(tmp_path, 22, keep_checkpoints=2).fit()
    assert remaining == [2, 2, 2]                     # steps 5, 10 and 15 went, after 15, 20 and 22 were written


def test_weight_average_is_published_and_resumes_bit_exactly(tmp_path):
    straight = make_trainer(tmp_path / "a", 17, ema_decay=0.9).fit()
    with pytest.raises(Crash):
        make_trainer(tmp_path / "b", 17, crash_at=12, ema_decay=0.9).fit()
    resumed = make_trainer(tmp_path / "b", 17, ema_decay=0.9).fit()
    a, b = weights(straight), weights(resumed)
    for name in a:
        assert torch.equal(a[name], b[name]), name

    # The published model is the average kept in the last training checkpoint, not the last weights.
    from wavegen.core.checkpoint import read_checkpoint, split_tensors
    raw, train = split_tensors(read_checkpoint(tmp_path / "a/checkpoints/step-00000017.safetensors")[1])
    assert all(torch.equal(train[f"ema/{k}"], v) for k, v in a.items())
    assert not all(torch.equal(raw[k], v) for k, v in a.items())


def test_weight_average_follows_the_ramped_decay():
    from torch import nn
    from wavegen.core.optim import WeightAverage
    layer = nn.Linear(3, 2)
    average = WeightAverage(layer, 0.99)
    start = {k: v.clone() for k, v in layer.state_dict().items()}
    with torch.no_grad():
        layer.weight.add_(1.0)
    average.update(layer)                         # first update: decay (1+0)/(10+0) = 0.1
    torch.testing.assert_close(average.averages["weight"], 0.1 * start["weight"] + 0.9 * layer.weight)
    for _ in range(3):
        average.update(layer)
    assert average.updates == 4
    with pytest.raises(WavegenError, match="between 0 and 1"):
        WeightAverage(layer, 1.0)


def test_training_extends_to_more_steps_and_keeps_few_checkpoints(tmp_path):
    make_trainer(tmp_path, 10, keep_checkpoints=2).fit()
    trainer = make_trainer(tmp_path, 20, keep_checkpoints=2)
    trainer.fit()
    assert trainer.step == 20
    names = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert names == ["step-00000015.safetensors", "step-00000020.safetensors"]
    assert (tmp_path / "logs/tensorboard").is_dir()


def test_batches_cover_each_epoch_without_repeats(tmp_path):
    trainer = make_trainer(tmp_path, 1)
    seen = [i for b in range(trainer.batches.per_epoch) for i in trainer.batches.indices(0, b)]
    assert sorted(seen) == list(range(40))
    assert trainer.batches.indices(1, 0) != trainer.batches.indices(0, 0)


def test_bad_devices_and_batch_sizes_are_clear_errors(tmp_path):
    if not torch.cuda.is_available():
        with pytest.raises(WavegenError, match="CUDA is not available"):
            resolve_device("cuda")
    with pytest.raises(WavegenError, match="expected cpu, cuda or auto"):
        resolve_device("tpu")
    assert resolve_device("cpu").type == "cpu"
    with pytest.raises(WavegenError, match="fewer than one batch"):
        Trainer(ToyTask(ToyGAN()), GaussianData(n=4), TrainConfig(batch_size=8, device="cpu"), tmp_path)


def test_too_little_data_says_what_one_steps_batches_are_made_of(tmp_path):
    with pytest.raises(WavegenError) as error:
        Trainer(ToyTask(ToyGAN()), GaussianData(n=1), TrainConfig(batch_size=8, device="cpu"), tmp_path)
    assert_one_line(error, "the training set has 1 example, fewer than one batch (8)", "train.batch_size")
    config = TrainConfig(batch_size=20, device="cpu", batch_parts="batch 4 × 5 critic steps")
    with pytest.raises(WavegenError) as error:
        Trainer(ToyTask(ToyGAN()), GaussianData(n=12), config, tmp_path)
    assert_one_line(error, "the training set has 12 examples, fewer than one step's batches "
                           "(20 = batch 4 × 5 critic steps)")


def _scored(trainer, peak):
    """Evaluate by a score that peaks at step ``peak`` (and is NaN at step 15)."""
    trainer.evaluate = lambda: {"score": float("nan") if trainer.step == 15 else -abs(trainer.step - peak),
                                "loss": float(trainer.step)}
    return trainer


def test_select_by_publishes_the_best_evaluations_weights(tmp_path):
    from wavegen.core.checkpoint import read_checkpoint
    path = _scored(make_trainer(tmp_path / "a", 22, eval_every=5, select_by="score"), peak=11).fit()
    header, _ = read_checkpoint(path)
    assert header["step"] == 10 and header["selection"] == {"metric": "score", "mode": "max", "step": 10,
                                                            "value": -1.0}
    at_ten = weights(make_trainer(tmp_path / "b", 10).fit())
    assert all(torch.equal(weights(path)[k], at_ten[k]) for k in at_ten)
    last = _scored(make_trainer(tmp_path / "c", 22, eval_every=5, select_by="loss", select_mode="min"), 0).fit()
    assert read_checkpoint(last)[0]["selection"]["step"] == 5
    plain = make_trainer(tmp_path / "d", 22, eval_every=5).fit()          # no select_by: the last weights
    assert read_checkpoint(plain)[0]["step"] == 22 and "selection" not in read_checkpoint(plain)[0]


def test_the_best_so_far_survives_a_crash_and_resume(tmp_path):
    from wavegen.core.checkpoint import read_checkpoint
    straight = _scored(make_trainer(tmp_path / "a", 22, eval_every=5, select_by="score"), peak=11).fit()
    with pytest.raises(Crash):                       # after the step-20 checkpoint, best = step 10
        _scored(make_trainer(tmp_path / "b", 22, crash_at=21, eval_every=5, select_by="score"), peak=11).fit()
    resumed = _scored(make_trainer(tmp_path / "b", 22, eval_every=5, select_by="score"), peak=11).fit()
    assert read_checkpoint(resumed)[0]["selection"] == read_checkpoint(straight)[0]["selection"]
    a, b = weights(straight), weights(resumed)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_select_by_a_metric_the_evaluation_does_not_give_is_a_clear_error(tmp_path):
    trainer = _scored(make_trainer(tmp_path / "a", 6, eval_every=5, select_by="pesq"), peak=1)
    with pytest.raises(WavegenError, match="select_by='pesq'.*gives score, loss"):
        trainer.fit()
    with pytest.raises(WavegenError, match="no evaluation"):
        make_trainer(tmp_path / "b", 6, select_by="pesq").fit()
    with pytest.raises(WavegenError, match="select_mode"):
        make_trainer(tmp_path / "c", 6, select_mode="best")


def test_warm_up_ramps_every_learning_rate_and_resumes_exactly(tmp_path):
    trainer = make_trainer(tmp_path / "a", 5, warmup_steps=8)
    trainer.fit()
    for optimizer in trainer.task.optimizers.values():
        for group in optimizer.param_groups:
            assert group["lr"] == pytest.approx(group["initial_lr"] * 5 / 8)      # set before the 5th step
    straight = make_trainer(tmp_path / "b", 12, warmup_steps=8).fit()
    with pytest.raises(Crash):
        make_trainer(tmp_path / "c", 12, crash_at=7, warmup_steps=8).fit()
    resumed = make_trainer(tmp_path / "c", 12, warmup_steps=8).fit()
    a, b = weights(straight), weights(resumed)
    assert all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(WavegenError, match="warmup_steps"):
        make_trainer(tmp_path / "d", 5, warmup_steps=-1)


def test_cosine_decay_follows_warm_up_down_to_a_tenth_and_resumes_exactly(tmp_path):
    def rates(trainer):
        return [group["lr"] / group["initial_lr"] for opt in trainer.task.optimizers.values()
                for group in opt.param_groups]
    trainer = make_trainer(tmp_path / "a", 12, warmup_steps=2, lr_schedule="cosine")
    trainer.fit()
    # The last step taken was step 11: 9 of the 10 decay steps done.
    expected = 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 9 / 10))
    assert rates(trainer) == pytest.approx([expected] * len(rates(trainer)))
    straight = make_trainer(tmp_path / "b", 12, warmup_steps=2, lr_schedule="cosine").fit()
    with pytest.raises(Crash):
        make_trainer(tmp_path / "c", 12, crash_at=7, warmup_steps=2, lr_schedule="cosine").fit()
    resumed = make_trainer(tmp_path / "c", 12, warmup_steps=2, lr_schedule="cosine").fit()
    a, b = weights(straight), weights(resumed)
    assert all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(WavegenError, match="lr_schedule"):
        make_trainer(tmp_path / "d", 5, lr_schedule="linear")


def csv_text(*rows):
    return "".join(",".join(map(str, row)) + "\r\n" for row in rows)


def test_run_log_rows_go_down_whole_in_one_write(tmp_path, monkeypatch):
    logs = RunLogs(tmp_path, 0)
    logs.write("train", 1, {"loss": 0.5}, 1.0)
    real_write, appended = os.write, []

    def recording_write(fd, data):
        appended.append(bytes(data))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", recording_write)
    logs.write("train", 2, {"loss": 0.25}, 2.0)
    monkeypatch.undo()
    logs.close()
    assert appended == [b"2,2.0,0.25\r\n"]
    assert (tmp_path / "train.csv").read_bytes() == csv_text(("step", "elapsed_s", "loss"), (1, 1.0, 0.5),
                                                             (2, 2.0, 0.25)).encode()


@pytest.mark.parametrize("partial", ["1", "4,3.", "4,3.0,0.1\r"])
def test_run_log_drops_a_partial_last_line_when_opened(tmp_path, partial):
    rows = [("step", "elapsed_s", "loss"), (1, 1.0, 0.5), (2, 2.0, 0.25), (3, 3.0, 0.125)]
    (tmp_path / "train.csv").write_bytes((csv_text(*rows) + partial).encode())
    logs = RunLogs(tmp_path, 3)
    assert (tmp_path / "train.csv").read_bytes() == csv_text(*rows).encode()
    logs.write("train", 4, {"loss": 0.0625}, 4.0)
    logs.close()
    assert (tmp_path / "train.csv").read_bytes() == csv_text(*rows, (4, 4.0, 0.0625)).encode()


def test_run_log_with_only_a_partial_header_starts_afresh(tmp_path):
    (tmp_path / "eval.csv").write_bytes(b"step,elap")
    logs = RunLogs(tmp_path, 0)
    logs.write("eval", 5, {"score": 2.0}, 1.5)
    logs.close()
    assert (tmp_path / "eval.csv").read_bytes() == csv_text(("step", "elapsed_s", "score"), (5, 1.5, 2.0)).encode()


def test_run_log_drops_rows_after_the_resumed_step_atomically(tmp_path, monkeypatch):
    rows = [("step", "elapsed_s", "loss"), *((i, float(i), 1 / i) for i in range(1, 9))]
    (tmp_path / "train.csv").write_bytes(csv_text(*rows).encode())
    before = (tmp_path / "train.csv").read_bytes()

    def killed(*args):
        raise Crash

    monkeypatch.setattr(os, "replace", killed)       # killed just before the rewritten log takes the old one's place
    with pytest.raises(Crash):
        RunLogs(tmp_path, 5)
    monkeypatch.undo()
    assert (tmp_path / "train.csv").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["train.csv"]    # no temporary left
    RunLogs(tmp_path, 5).close()
    assert (tmp_path / "train.csv").read_bytes() == csv_text(*rows[:6]).encode()
