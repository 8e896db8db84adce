"""The judge of the generator recipes: the classifier is checked before training, and named in the results."""

import json
import logging

import numpy as np
import pytest
import torch

from tests.recipes.test_images import TINY_FOLDER, TINY_FOLDER_GAN, pictures, run_recipe
from tests.support import assert_one_line
from wavegen.core.checkpoint import save_checkpoint
from wavegen.errors import WavegenError
from wavegen.recipes import _judge
from wavegen.vision.classifier import ImageClassifier

CLASSES = ["a", "b", "c", "d"]


def test_the_data_fingerprint_follows_the_content_not_the_folder():
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (300, 4, 4, 1), dtype=np.uint8), rng.integers(0, 4, 300)
    splits = {"train": (images, labels), "test": (images[:10], labels[:10])}
    first = _judge.data_fingerprint(CLASSES, splits)
    assert first == _judge.data_fingerprint(CLASSES, {k: (x.copy(), y.copy()) for k, (x, y) in splits.items()})
    relabelled = labels.copy()
    relabelled[123] = (relabelled[123] + 1) % 4                   # one label of 300 differs
    assert _judge.data_fingerprint(CLASSES, {**splits, "train": (images, relabelled)}) != first
    assert _judge.data_fingerprint(CLASSES, {**splits, "test": (images[:10] // 2, labels[:10])}) != first
    assert _judge.data_fingerprint(["a", "b", "c", "e"], splits) != first
    assert _judge.data_fingerprint(CLASSES, {**splits, "test": (images[:0], labels[:0])})   # an empty split


def judge_in(folder, accuracy, fingerprint="f1", count=40, record=True):
    """A classifier checkpoint in ``folder`` as the classifier recipe leaves it (with its judge.json if ``record``)."""
    save_checkpoint(folder / "model.safetensors", ImageClassifier([1, 4, 4], CLASSES, "mlp", hidden=[4]))
    if record:
        _judge.write_record(folder, dataset="folder", root="/data/pictures", classes=CLASSES,
                            fingerprint=fingerprint, accuracy=accuracy, count=count, noun="test image")
    return str(folder / "model.safetensors")


def request(**changes):
    settings = dict(dataset="folder", root="/data/pictures", classes=CLASSES, fingerprint="f1", min_accuracy=0.5,
                    noun="test image", measure=lambda classifier: (0.75, 8))
    return _judge.JudgeRequest(**{**settings, **changes})


def test_a_judge_is_refused_for_other_classes_other_data_or_too_little_accuracy(tmp_path):
    path = judge_in(tmp_path, accuracy=0.9)
    judge = _judge.check_judge(path, request(), torch.device("cpu"))
    assert judge.line() == f"judge: {path} (test accuracy 90.0% on 40 test images)"
    retrain = f"`wavegen recipe classifier --data folder --data-root /data/pictures --exp-dir {tmp_path}"
    cases = [(request(classes=["a", "b", "c", "x"]), ["other classes (a, b, c, d) than this data's (a, b, c, x)",
                                                      retrain + "`"]),
             (request(fingerprint="f2"), [f"{path} was trained on other data (/data/pictures, fingerprint f1)",
                                          "than this run's (/data/pictures, fingerprint f2)"]),
             (request(min_accuracy=0.95), ["test accuracy 90.0% on its 40 test images, below "
                                           "evaluate.judge_min_accuracy (0.95)", retrain + " --max-steps 20000`"]),
             (request(problem=lambda c: "it takes [1, 4, 4] images, and this run's are [3, 8, 8]",
                      settings=("model.image_shape=[3,8,8]",)),
              [f"{path}: it takes [1, 4, 4] images", retrain + " --set 'model.image_shape=[3,8,8]'`"])]
    for asked, needles in cases:
        with pytest.raises(WavegenError) as excinfo:
            _judge.check_judge(path, asked, torch.device("cpu"))
        assert_one_line(excinfo, *needles)
    assert _judge.check_judge(path, request(min_accuracy=0.0), torch.device("cpu")).accuracy == 0.9


def test_a_judge_no_better_than_chance_is_refused_whatever_the_threshold_short_of_zero(tmp_path):
    path = judge_in(tmp_path, accuracy=0.25)                # four classes: chance
    with pytest.raises(WavegenError) as excinfo:
        _judge.check_judge(path, request(min_accuracy=0.1), torch.device("cpu"))
    assert_one_line(excinfo, "test accuracy 25.0% on its 40 test images, no better than chance (1 in 4)")
    assert _judge.check_judge(path, request(min_accuracy=0.0), torch.device("cpu")).accuracy == 0.25


def test_a_judge_without_a_record_is_measured_on_this_data_with_a_warning(tmp_path, caplog):
    """Classifiers trained before judge.json existed: warn, measure, go on (refused only if measured too poor)."""
    path = judge_in(tmp_path, accuracy=0.9, record=False)
    with caplog.at_level(logging.WARNING):
        judge = _judge.check_judge(path, request(), torch.device("cpu"))
    assert judge.measured and judge.line() == f"judge: {path} (test accuracy 75.0% on this run's 8 test images)"
    assert "no record of the data it was trained on" in caplog.text
    with pytest.raises(WavegenError) as excinfo:
        _judge.check_judge(path, request(measure=lambda c: (0.3, 8)), torch.device("cpu"))
    assert_one_line(excinfo, "test accuracy 30.0% on this run's 8 test images, below")
    # A record of an earlier model in the same folder is no record of this one.
    judge_in(tmp_path, accuracy=0.9)
    save_checkpoint(tmp_path / "model.safetensors", ImageClassifier([1, 4, 4], CLASSES, "mlp", hidden=[5]))
    assert _judge.check_judge(path, request(), torch.device("cpu")).measured


def test_a_missing_given_judge_is_one_line(tmp_path):
    with pytest.raises(WavegenError) as excinfo:
        _judge.locate_judge(str(tmp_path / "none.safetensors"), tmp_path / "exp", [], [], "folder", tmp_path)
    assert_one_line(excinfo, f"evaluate.classifier {tmp_path / 'none.safetensors'}: no such checkpoint")


def test_the_generator_recipes_check_their_judge_before_training_and_name_it(tmp_path):
    """A 2-step classifier at chance once judged cgan silently; other classes were caught only after training."""
    data = pictures(tmp_path / "data", {"train/a": 2, "train/b": 2, "test/a": 1})
    (data / "test" / "b").mkdir()
    (data / "test" / "b" / "img0.png").write_bytes((data / "test" / "a" / "img0.png").read_bytes())
    # Both test images are the same picture, so any classifier gets one of two right: chance.
    line = run_recipe("classifier", "folder", tmp_path / "classifier-folder", data, *TINY_FOLDER)
    assert line.startswith("test accuracy 50.00% (2 test images")
    record = json.loads((tmp_path / "classifier-folder" / "judge.json").read_text())
    assert record["test_accuracy"] == 0.5 and record["classes"] == ["a", "b"]
    judge = tmp_path / "classifier-folder" / "model.safetensors"

    def refused(root, *assignments):
        with pytest.raises(WavegenError) as excinfo:
            run_recipe("cgan", "folder", tmp_path / "cgan", root, *TINY_FOLDER_GAN, *assignments)
        assert not (tmp_path / "cgan" / "model.safetensors").exists()
        return excinfo

    assert_one_line(refused(data), f"{judge}: test accuracy 50.0% on its 2 test images, no better than chance",
                    f"--data folder --data-root {data} --exp-dir {tmp_path / 'classifier-folder'} --max-steps 20000 "
                    "--set 'model.image_shape=[3,16,16]'`")
    other_classes = pictures(tmp_path / "other", {"train/c": 2, "train/d": 2, "test/c": 1, "test/d": 1})
    assert_one_line(refused(other_classes, "evaluate.judge_min_accuracy=0"),
                    "a classifier of other classes (a, b) than this data's (c, d)")
    other_data = pictures(tmp_path / "more", {"train/a": 3, "train/b": 2, "test/a": 1, "test/b": 1}, seed=1)
    assert_one_line(refused(other_data, "evaluate.judge_min_accuracy=0"), f"{judge} was trained on other data")
    table = run_recipe("cgan", "folder", tmp_path / "cgan", data, *TINY_FOLDER_GAN, "evaluate.judge_min_accuracy=0")
    assert table.splitlines()[-1] == f"judge: {judge} (test accuracy 50.0% on 2 test images)"
    assert (tmp_path / "cgan" / "results.txt").read_text() == table + "\n"
