"""The SC09 recipes (classifier, SpecGAN, WaveGAN), `wavegen sample` and `wavegen evaluate-generation`, end to end."""

import json

import pytest
import soundfile as sf

import wavegen
from tests.support import wavegen_cli

CORPUS = ["corpus.speakers=6", "corpus.repetitions=1", "corpus.other_words=1"]
TINY_CLASSIFIER = ["evaluate.count=20", "model.channels=[4,4,8,8]", "model.embedding=8", "train.batch_size=8",
                   "train.eval_every=2", "train.log_every=1", "train.max_steps=4"]
# A 4-step classifier is no better than chance: judge_min_accuracy=0 lets it judge these tiny runs.
TINY_GAN = ["model.model_size=2", "train.batch_size=2", "train.log_every=1", "train.checkpoint_every=2",
            "evaluate.count=20", "sample.count=3", "evaluate.judge_min_accuracy=0"]


def settings(*assignments: str) -> list[str]:
    return [arg for assignment in assignments for arg in ("--set", assignment)]


GAN_ARGS = ["--max-steps", "3", *settings(*CORPUS, *TINY_GAN, *(f"classifier.{s}" for s in TINY_CLASSIFIER))]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A tiny WaveGAN run with no classifier beside it: it trains one first (tiny, by classifier.* settings)."""
    root = tmp_path_factory.mktemp("sc09")
    gan = wavegen_cli("recipe", "wavegan", "--data", "demo", "--exp-dir", str(root / "wavegan-demo"), *GAN_ARGS,
                      cwd=root)
    assert gan.returncode == 0, gan.stderr
    return root, gan


def test_gan_recipe_trains_the_missing_classifier_on_the_same_corpus(runs):
    root, _ = runs
    classifier = root / "classifier-demo"
    model = wavegen.load(classifier / "model.safetensors")
    assert model.labels == ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    config = json.loads((classifier / "config.json").read_text())
    assert config["model"]["channels"] == [4, 4, 8, 8] and config["train"]["max_steps"] == 4
    # The GAN's demo corpus was written once and read by both.
    prepared = json.loads((classifier / "stages" / "prepare.json").read_text())["result"]
    assert prepared["root"] == str(root / "wavegan-demo" / "corpus") and not (classifier / "corpus").exists()
    rows = json.loads((classifier / "scores.json").read_text())
    assert [r["name"] for r in rows] == ["real test clips", "real training clips"]
    assert all(0 <= r["accuracy"] <= 1 and 1 <= r["inception_score"] <= 10 for r in rows)
    assert "real test clips" in (classifier / "results.txt").read_text()
    # What the GANs check their judge against: the data it was trained on, its test accuracy.
    record = json.loads((classifier / "judge.json").read_text())
    assert record["test_accuracy"] == rows[0]["accuracy"] and record["test_count"] == rows[0]["count"]
    assert record["classes"] == model.labels and record["dataset"] == "demo"


def test_gan_recipe_scores_beside_real_clips_and_samples(runs):
    root, gan = runs
    exp = root / "wavegan-demo"
    lines = gan.stdout.splitlines()
    assert [line.split("  ")[0] for line in lines[1:-1]] == ["real test clips", "real training clips", "wavegan"]
    judge = json.loads((root / "classifier-demo" / "judge.json").read_text())
    assert lines[-1] == (f"judge: {root / 'classifier-demo' / 'model.safetensors'} (test accuracy "
                         f"{judge['test_accuracy']:.1%} on {judge['test_count']} test clips)")
    assert (exp / "results.txt").read_text() == gan.stdout
    rows = json.loads((exp / "scores.json").read_text())
    assert rows[2]["count"] == 20 and len(rows[2]["class_shares"]) == 10
    samples = sorted(p.name for p in (exp / "samples").iterdir())
    assert samples == ["grid-seed0.png", "sample-seed0-0.wav", "sample-seed0-1.wav", "sample-seed0-2.wav"]
    audio, rate = sf.read(exp / "samples" / "sample-seed0-0.wav")
    assert rate == 16000 and audio.shape == (16384,)
    assert (exp / "samples" / "grid-seed0.png").read_bytes()[:4] == b"\x89PNG"
    # Nothing lands outside the two experiment folders.
    assert sorted(p.name for p in root.iterdir()) == ["classifier-demo", "wavegan-demo"]
    # Finished stages are skipped, and the classifier is not retrained: the same table again.
    again = wavegen_cli("recipe", "wavegan", "--data", "demo", "--exp-dir", str(exp), *GAN_ARGS, cwd=root)
    assert again.returncode == 0 and again.stdout == gan.stdout


def test_sample_command_is_reproducible_and_refuses_what_a_gan_cannot_do(runs, tmp_path):
    root, _ = runs
    checkpoint = str(root / "wavegan-demo" / "model.safetensors")
    first = wavegen_cli("sample", "-c", checkpoint, "-o", str(tmp_path / "a"), "-n", "2", "--seed", "5", cwd=tmp_path)
    second = wavegen_cli("sample", "-c", checkpoint, "-o", str(tmp_path / "b"), "-n", "2", "--seed", "5", cwd=tmp_path)
    assert first.returncode == 0 and second.returncode == 0, first.stderr
    for name in ("sample-seed5-0.wav", "sample-seed5-1.wav"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (tmp_path / "a" / "grid-seed5.png").is_file()
    again = wavegen_cli("sample", "-c", checkpoint, "-o", str(tmp_path / "a"), "-n", "2", "--seed", "5", cwd=tmp_path)
    assert again.returncode == 1 and "already exists" in again.stderr
    refused = wavegen_cli("sample", "-c", checkpoint, "-o", str(tmp_path / "c"), "--speaker", "p225", cwd=tmp_path)
    assert refused.returncode == 1 and "--speaker" in refused.stderr and len(refused.stderr.splitlines()) == 1
    assert not (tmp_path / "c").exists()


def test_evaluate_generation_command_on_a_prepared_cache_and_on_the_corpus(runs, tmp_path):
    root, _ = runs
    exp = root / "wavegan-demo"
    common = ["evaluate-generation", "-c", str(exp / "model.safetensors"),
              "--classifier", str(root / "classifier-demo" / "model.safetensors"), "-n", "10", "--splits", "2"]
    cached = wavegen_cli(*common, "--data", str(exp / "data"), "--json", str(tmp_path / "s.json"), cwd=tmp_path)
    assert cached.returncode == 0, cached.stderr
    assert "real test clips" in cached.stdout and "wavegan" in cached.stdout
    from_corpus = wavegen_cli(*common, "--data", str(exp / "corpus"), cwd=tmp_path)
    assert from_corpus.returncode == 0 and from_corpus.stdout == cached.stdout
    assert json.loads((tmp_path / "s.json").read_text())[2]["count"] == 10
    wrong = wavegen_cli("evaluate-generation", "-c", str(root / "classifier-demo" / "model.safetensors"),
                        "--classifier", str(root / "classifier-demo" / "model.safetensors"),
                        "--data", str(exp / "data"), cwd=tmp_path)
    assert wrong.returncode == 1
    assert wrong.stderr.strip() == (f"error: {root / 'classifier-demo' / 'model.safetensors'}: an audio_classifier "
                                    "checkpoint cannot sample; it can classify")


def test_gan_recipe_refuses_bad_settings_before_any_work(tmp_path):
    exp = tmp_path / "exp"
    for setting, message in (("train.d_steps=0", "d_steps"), ("model.model_size=0", "model_size"),
                             ("evaluate.splits=0", "splits")):
        result = wavegen_cli("recipe", "specgan", "--data", "demo", "--exp-dir", str(exp), "--set", setting,
                             cwd=tmp_path)
        assert result.returncode == 1 and message in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert not exp.exists()


def test_missing_sc09_corpus_names_the_layout(tmp_path):
    result = wavegen_cli("recipe", "classifier", "--data", "sc09", "--data-root", str(tmp_path / "nowhere"),
                         "--exp-dir", str(tmp_path / "exp"), cwd=tmp_path)
    assert result.returncode == 1 and "speech_commands" in result.stderr.lower()
    assert not (tmp_path / "exp").exists()


DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def sc09_corpus(root, validation=("a69b9b3e",), test=("bb05582b",), speakers=("0a7c2a8d", "a69b9b3e", "bb05582b")):
    """A tiny corpus in the Speech Commands layout: one one-second tone per speaker and digit, and the split lists."""
    import numpy as np
    for label, word in enumerate(DIGITS):
        (root / word).mkdir(parents=True, exist_ok=True)
        for speaker in speakers:
            sf.write(str(root / word / f"{speaker}_nohash_0.wav"),
                     0.3 * np.sin(np.arange(16000) * (0.05 + 0.01 * label)), 16000, subtype="PCM_16")
    for name, listed in (("validation_list.txt", validation), ("testing_list.txt", test)):
        (root / name).write_text("".join(f"{w}/{s}_nohash_0.wav\n" for w in DIGITS for s in listed))
    return root


@pytest.mark.parametrize("recipe, splits, overrides, message", [
    ("classifier", {"test": ()}, [],
     "testing_list.txt puts 0 digit clips in the test split, but the scores compare with at least 2 real test clips"),
    ("wavegan", {"validation": ()}, [],
     "validation_list.txt puts 0 digit clips in the validation split, but training is validated on at least 1 clip"),
    ("specgan", {}, ["train.batch_size=4"],
     "the train split (every digit clip in neither list) has 10 clips, fewer than one step's batches "
     "(20 = batch 4 × 5 critic steps); lower train.batch_size"),
    ("classifier", {}, [], "the train split (every digit clip in neither list) has 10 clips, fewer than one batch "
                           "(train.batch_size=64)"),
])
def test_sc09_splits_that_cannot_train_or_be_scored_are_refused_before_anything_is_written(tmp_path, recipe, splits,
                                                                                           overrides, message):
    import importlib
    from tests.support import assert_one_line
    from wavegen.errors import WavegenError
    corpus, exp = sc09_corpus(tmp_path / "speech_commands_v0.02", **splits), tmp_path / "exp"
    with pytest.raises(WavegenError) as error:
        importlib.import_module(f"wavegen.recipes.{recipe}.sc09").run(exp, corpus, overrides)
    assert_one_line(error, f"SC09 at {corpus}: {message}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["speech_commands_v0.02"]


def test_gan_recipe_refuses_a_judge_no_better_than_chance_before_training(runs, tmp_path):
    """A few-step classifier once judged the GANs silently; now the default evaluate.judge_min_accuracy refuses it."""
    root, _ = runs
    judge = root / "classifier-demo" / "model.safetensors"
    exp = tmp_path / "wavegan-demo"
    assert json.loads((judge.parent / "judge.json").read_text())["test_accuracy"] < 0.5
    strict = [s for s in TINY_GAN if not s.startswith("evaluate.judge_min_accuracy")]
    result = wavegen_cli("recipe", "wavegan", "--data", "demo", "--data-root", str(root / "wavegan-demo" / "corpus"),
                         "--exp-dir", str(exp), "--max-steps", "3",
                         *settings(*CORPUS, *strict, f"evaluate.classifier={judge}"), cwd=tmp_path)
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith(f"error: {judge}: test accuracy ") and "evaluate.judge_min_accuracy" in result.stderr
    assert f"--exp-dir {root / 'classifier-demo'} --max-steps " in result.stderr
    assert not (exp / "model.safetensors").exists() and not (exp / "checkpoints").exists()


def test_a_judge_refused_on_real_data_leaves_no_experiment_behind(runs, tmp_path):
    """The judge is checked within the prepare stage: refusing it puts no config.json in a new experiment."""
    root, _ = runs
    judge = root / "classifier-demo" / "model.safetensors"
    exp = tmp_path / "wavegan-sc09"
    strict = [s for s in TINY_GAN if not s.startswith("evaluate.judge_min_accuracy")]
    result = wavegen_cli("recipe", "wavegan", "--data", "sc09", "--data-root", str(root / "wavegan-demo" / "corpus"),
                         "--exp-dir", str(exp), "--max-steps", "3",
                         *settings(*strict, f"evaluate.classifier={judge}"), cwd=tmp_path)
    assert result.returncode == 1 and "evaluate.judge_min_accuracy" in result.stderr, result.stderr
    assert not (exp / "config.json").exists() and not (exp / "checkpoints").exists()


def test_a_generated_corpus_too_small_for_the_gan_is_refused_once_written_before_training(tmp_path):
    exp = tmp_path / "exp"
    result = wavegen_cli("recipe", "specgan", "--data", "demo", "--exp-dir", str(exp),
                         *settings("corpus.speakers=3", "corpus.repetitions=1", "corpus.other_words=1",
                                   "train.batch_size=4"), cwd=tmp_path)
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert (f"SC09 at {exp / 'corpus'}: the train split (every digit clip in neither list) has 10 clips, fewer than "
            "one step's batches (20 = batch 4 × 5 critic steps)") in result.stderr
    assert sorted(p.name for p in exp.iterdir()) == ["config.json", "corpus", "data", "stages"]    # no training
    assert sorted(p.name for p in (exp / "stages").iterdir()) == ["corpus.json"]
