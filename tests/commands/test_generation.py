"""`wavegen evaluate-generation` and `wavegen sample` (wavegen.commands.generation) against odd input."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.support import assert_one_line, wavegen_cli
from wavegen.audio.classifier import AudioClassifier
from wavegen.audio.wavegan.model import WAVEGAN_CONFIGS, WaveGAN
from wavegen.audio.wavenet.model import WAVENET_CONFIGS, WaveNet
from wavegen.commands.generation import evaluate_generation, sample
from wavegen.core.checkpoint import save_checkpoint
from wavegen.core.sampling import SampleRequest
from wavegen.data.mnist import write_idx
from wavegen.errors import WavegenError
from wavegen.vision.classifier import ImageClassifier
from wavegen.vision.vae import VAE

DIGITS = list("0123456789")


def write_mnist(folder, train=30, test=12):
    """A tiny MNIST in its own layout (idx files), every digit among the training images."""
    rng = np.random.default_rng(0)
    for prefix, count in (("train", train), ("t10k", test)):
        write_idx(folder / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (count, 28, 28), dtype=np.uint8))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", (np.arange(count) % 10).astype(np.uint8))
    return folder


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    """(generator, classifier, MNIST folder) for scoring images."""
    folder = tmp_path_factory.mktemp("image-run")
    torch.manual_seed(0)
    generator = save_checkpoint(folder / "vae.safetensors", VAE(hidden=[16], latent=4))
    judge = save_checkpoint(folder / "judge.safetensors", ImageClassifier(classes=DIGITS, channels=[4, 4],
                                                                          embedding=8))
    return generator, judge, write_mnist(folder / "mnist")


def score(image_run, *args, cwd):
    generator, judge, data = image_run
    return wavegen_cli("evaluate-generation", "-c", str(generator), "--classifier", str(judge), "--data", str(data),
                       *args, cwd=cwd)


# ---------------------------------------------------------------- evaluate-generation: --json

def test_json_is_never_replaced_without_overwrite_and_that_is_checked_before_scoring(image_run, tmp_path):
    """--json keep.json replaced an existing file; a folder given as --json died after all the scoring."""
    kept = tmp_path / "keep.json"
    kept.write_text("my notes")
    refused = score(image_run, "-n", "10", "--splits", "2", "--json", str(kept), cwd=tmp_path)
    assert refused.returncode == 1 and kept.read_text() == "my notes"
    assert refused.stderr.strip() == (f"error: {kept} already exists; use --overwrite to replace it, "
                                      "or another --json file")
    (tmp_path / "folder.json").mkdir()
    in_the_way = score(image_run, "-n", "10", "--splits", "2", "--json", str(tmp_path / "folder.json"),
                       "--overwrite", cwd=tmp_path)
    assert in_the_way.returncode == 1
    assert in_the_way.stderr.strip() == f"error: {tmp_path / 'folder.json'}: a folder is in the way of this output"
    replaced = score(image_run, "-n", "10", "--splits", "2", "--json", str(kept), "--overwrite", cwd=tmp_path)
    assert replaced.returncode == 0, replaced.stderr
    rows = json.loads(kept.read_text())
    assert [row["name"] for row in rows] == ["real test images", "real training images", "vae"]
    assert rows[2]["count"] == 10


def test_a_json_path_is_checked_before_any_checkpoint_is_read(tmp_path):
    (tmp_path / "notes").write_text("a file")
    with pytest.raises(WavegenError) as refused:
        evaluate_generation(tmp_path / "none.safetensors", tmp_path / "none.safetensors", tmp_path,
                            json_path=tmp_path / "notes" / "scores.json")
    assert_one_line(refused, f"--json {tmp_path / 'notes' / 'scores.json'}: {tmp_path / 'notes'} is a file")


# ---------------------------------------------------------------- evaluate-generation: splits

def test_more_splits_than_examples_is_one_line_naming_both_options(image_run, tmp_path):
    """-n 20 --splits 50 was a ValueError traceback from the inception score."""
    run = score(image_run, "-n", "20", "--splits", "50", cwd=tmp_path)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert run.stderr.strip() == ("error: --splits 50: more than the 20 examples scored (-n); give --splits 20 or "
                                  "fewer, or a larger -n")
    generator, judge, data = image_run
    with pytest.raises(WavegenError) as by_default:
        evaluate_generation(generator, judge, data, splits=5000)
    assert_one_line(by_default, "--splits 5000: more than the 1000 examples scored (-n, the default for images)")
    with pytest.raises(WavegenError, match="--splits 50"):          # before any checkpoint is read
        evaluate_generation(tmp_path / "none", tmp_path / "none", tmp_path, count=20, splits=50)


@pytest.mark.parametrize("train, test, message", [
    (30, 3, "its test split holds 3 images, too few for --splits 5"),
    (4, 12, "its train split holds 4 images, too few for --splits 5"),
    (30, 1, "its test split holds 1 image, too few for --splits 1"),
])
def test_real_sets_too_small_for_the_splits_are_refused_before_scoring(image_run, tmp_path, train, test, message):
    generator, judge, _ = image_run
    data = write_mnist(tmp_path / "small", train=train, test=test)
    splits = 1 if test == 1 else 5
    with pytest.raises(WavegenError) as refused:
        evaluate_generation(generator, judge, data, count=10, splits=splits)
    assert_one_line(refused, f"--data {data}: {message}; lower --splits or give more data")


# ---------------------------------------------------------------- evaluate-generation: generator and judge

def _judged(generator, judge, tmp_path) -> str:
    run = wavegen_cli("evaluate-generation", "-c", str(generator), "--classifier", str(judge),
                      "--data", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert run.returncode == 1
    return run.stderr.strip()


def test_an_image_generator_with_an_audio_classifier_is_refused_before_reading_data(image_run, tmp_path):
    generator, _, _ = image_run
    judge = save_checkpoint(tmp_path / "judge.safetensors", AudioClassifier(labels=DIGITS, channels=[4, 4],
                                                                            embedding=8))
    assert _judged(generator, judge, tmp_path) == (
        f"error: --classifier {judge}: an audio_classifier checkpoint cannot judge what a vae makes (train an "
        "image_classifier with `wavegen recipe classifier` on the generator's data)")


def test_a_clip_generator_with_an_image_classifier_is_refused_before_reading_data(tmp_path):
    """Once an AttributeError ('ImageClassifier' object has no attribute 'labels')."""
    generator = save_checkpoint(tmp_path / "wavegan.safetensors", WaveGAN(**WAVEGAN_CONFIGS["tiny"]))
    judge = save_checkpoint(tmp_path / "judge.safetensors", ImageClassifier(classes=DIGITS))
    assert _judged(generator, judge, tmp_path) == (
        f"error: --classifier {judge}: an image_classifier checkpoint cannot judge what a wavegan makes (train an "
        "audio_classifier with `wavegen recipe classifier` on the generator's data)")


def test_a_generator_that_makes_neither_clips_nor_images_is_refused_before_the_classifier(tmp_path):
    wavenet = save_checkpoint(tmp_path / "wavenet.safetensors", WaveNet(**WAVENET_CONFIGS["tiny"]))
    with pytest.raises(WavegenError) as refused:
        evaluate_generation(wavenet, tmp_path / "no-classifier.safetensors", tmp_path / "nowhere")
    assert_one_line(refused, f"-c {wavenet}: a wavenet checkpoint makes neither clips nor images to score")


# ---------------------------------------------------------------- sample: clip GANs

@pytest.fixture(scope="module")
def wavegan():
    torch.manual_seed(0)
    return WaveGAN(**WAVEGAN_CONFIGS["tiny"]).eval()


def test_sampling_fewer_clips_with_overwrite_replaces_the_earlier_run(wavegan, tmp_path):
    sample(wavegan, tmp_path, SampleRequest(count=3))
    (tmp_path / "sample-seed1-2.wav").write_bytes(b"another seed")
    again = sample(wavegan, tmp_path, SampleRequest(count=1, overwrite=True))
    assert [p.name for p in again] == ["sample-seed0-0.wav", "grid-seed0.png"]
    assert [p.name for p in again.removed] == ["sample-seed0-1.wav", "sample-seed0-2.wav"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grid-seed0.png", "sample-seed0-0.wav",
                                                          "sample-seed1-2.wav"]


@pytest.mark.parametrize("request_, message", [
    (SampleRequest(count=0), "-n must be at least 1, got 0"),
    (SampleRequest(count=None, temperature=float("inf")), "--temperature must be a positive number, got inf"),
    (SampleRequest(count=5000), "-n 5000: 5000 samples (about 164 MB); more than 1000 samples"),
    (SampleRequest(count=2, temperature=0.5), "--temperature: this model makes fixed-length clips"),
], ids=["zero", "inf", "many", "temperature"])
def test_sampling_clips_refuses_odd_requests_before_any_work(wavegan, tmp_path, request_, message):
    with pytest.raises(WavegenError) as refused:
        sample(wavegan, tmp_path / "out", request_)
    assert_one_line(refused, message)
    assert not (tmp_path / "out").exists()


def test_existing_clips_are_refused_in_one_line_naming_the_count(wavegan, tmp_path):
    (tmp_path / "sample-seed0-1.wav").write_bytes(b"mine")
    with pytest.raises(WavegenError) as refused:
        sample(wavegan, tmp_path, SampleRequest(count=3))
    assert str(refused.value) == (f"{tmp_path / 'sample-seed0-1.wav'} already exists (1 of 4 files); use "
                                  "--overwrite to replace, or another -o folder or --seed")
    assert (tmp_path / "sample-seed0-1.wav").read_bytes() == b"mine"
