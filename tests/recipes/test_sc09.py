"""The SC09 recipes (classifier, SpecGAN, WaveGAN), `wavegen sample` and `wavegen evaluate-generation`, end to end."""

import json

import pytest
import soundfile as sf

import wavegen
from tests.support import wavegen_cli

CORPUS = ["corpus.speakers=6", "corpus.repetitions=1", "corpus.other_words=1"]
TINY_CLASSIFIER = ["evaluate.count=20", "model.channels=[4,4,8,8]", "model.embedding=8", "train.batch_size=8",
                   "train.eval_every=2", "train.log_every=1", "train.max_steps=4"]
TINY_GAN = ["model.model_size=2", "train.batch_size=2", "train.log_every=1", "train.checkpoint_every=2",
            "evaluate.count=20", "sample.count=3"]


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


def test_gan_recipe_scores_beside_real_clips_and_samples(runs):
    root, gan = runs
    exp = root / "wavegan-demo"
    lines = gan.stdout.splitlines()
    assert [line.split("  ")[0] for line in lines[1:]] == ["real test clips", "real training clips", "wavegan"]
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
