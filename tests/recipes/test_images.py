"""The image recipes (vae, cvae, ssvae, classifier) on the embedded digits, and `wavegen sample` on their checkpoints;
the image recipes on small, empty and misshapen data of a user's own."""

import importlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import wavegen
from tests.support import assert_one_line, wavegen_cli
from wavegen.data.folders import is_test_path
from wavegen.data.images import ImageManifest
from wavegen.data.mnist import write_idx
from wavegen.errors import WavegenError

TINY_VAE = ["train.max_steps=30", "train.batch_size=20", "train.log_every=5", "train.eval_every=15",
            "train.checkpoint_every=15", "evaluate.ks=[1,5]", "evaluate.count=60"]


def settings(*assignments: str) -> list[str]:
    return [arg for assignment in assignments for arg in ("--set", assignment)]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("images")


def test_vae_recipe_reports_bounds_and_pictures_then_resumes(root):
    exp = root / "vae-digits"
    args = ["recipe", "vae", "--data", "digits", "--exp-dir", str(exp), *settings(*TINY_VAE)]
    first = wavegen_cli(*args, cwd=root)
    assert first.returncode == 0, first.stderr
    rows = {r["bound"]: r["nats"] for r in json.loads((exp / "bounds.json").read_text())}
    assert list(rows) == ["ELBO", "IWAE k=1", "IWAE k=5"]
    assert rows["IWAE k=5"] >= rows["IWAE k=1"] and all(-800 < v < 0 for v in rows.values())
    assert "IWAE k=5" in first.stdout and "60 test images, binarised once" in first.stdout
    assert sorted(p.name for p in (exp / "samples").iterdir()) == ["interpolations.png", "reconstructions.png",
                                                                   "samples.png"]
    # The digits were written in MNIST's layout and read by the MNIST reader.
    assert (exp / "corpus" / "train-images-idx3-ubyte.gz").is_file()
    prepared = json.loads((exp / "stages" / "prepare.json").read_text())["result"]
    assert prepared["counts"] == {"train": 1438, "test": 359} and prepared["classes"] == list("0123456789")
    again = wavegen_cli(*args, cwd=root)
    assert again.returncode == 0 and again.stdout == first.stdout
    model = wavegen.load(exp / "model.safetensors")
    assert model.registry_name == "vae" and model.num_classes == 0
    sampled = wavegen_cli("sample", "-c", str(exp / "model.safetensors"), "-o", str(root / "out"), "-n", "4",
                          cwd=root)
    assert sampled.returncode == 0, sampled.stderr
    assert (root / "out" / "seed0-grid.png").is_file()


def test_cvae_samples_are_of_the_asked_class_by_the_classifier(root):
    """Trained for real (about 40 s): the classifier recipe runs first, then judges conditional samples."""
    exp = root / "cvae-digits"
    run = wavegen_cli("recipe", "cvae", "--data", "digits", "--exp-dir", str(exp),
                      *settings("train.max_steps=1500", "evaluate.ks=[1]", "evaluate.count=60",
                                "classifier.train.max_steps=600"), cwd=root)
    assert run.returncode == 0, run.stderr
    accuracy = json.loads((exp / "stages" / "classes.json").read_text())["result"]["accuracy"]
    assert accuracy >= 0.9, run.stdout
    assert "conditional samples of the asked class" in run.stdout
    assert wavegen.load(exp / "model.safetensors").registry_name == "cvae"
    classifier = wavegen.load(root / "classifier-digits" / "model.safetensors")
    assert classifier.classes == list("0123456789")
    assert "test accuracy" in (root / "classifier-digits" / "results.txt").read_text()
    # wavegen sample --class 3: the classifier sees threes.
    out = root / "threes"
    sampled = wavegen_cli("sample", "-c", str(exp / "model.safetensors"), "-o", str(out), "-n", "20",
                          "--class", "3", cwd=root)
    assert sampled.returncode == 0, sampled.stderr
    from wavegen.vision.images import read_png
    images = torch.stack([read_png(out / f"class3-seed0-{i}.png", (1, 28, 28)) for i in range(20)])
    probs, _ = classifier.predict(images)
    assert (probs.argmax(-1) == 3).float().mean() >= 0.9


def test_ssvae_recipe_writes_the_error_table_for_each_label_count(root):
    exp = root / "ssvae-digits"
    run = wavegen_cli("recipe", "ssvae", "--data", "digits", "--exp-dir", str(exp),
                      *settings("labels=[100,5000,0]", "draws=2", "train.max_steps=10", "train.batch_size=20",
                                "train.log_every=5", "train.eval_every=5", "train.checkpoint_every=10"), cwd=root)
    assert run.returncode == 0, run.stderr
    rows = json.loads((exp / "errors.json").read_text())
    assert [(r["labels"], len(r["m2_errors"]), len(r["baseline_errors"])) for r in rows] == [(100, 2, 2),
                                                                                          (1438, 1, 1)]
    assert all(0 <= e <= 1 for r in rows for e in r["m2_errors"] + r["baseline_errors"])
    assert "skipped 5000" in run.stdout and "labels alone" in run.stdout
    m2 = wavegen.load(exp / "labels-100" / "draw-1" / "model.safetensors")
    assert m2.registry_name == "ssvae"
    assert wavegen.load(exp / "labels-100" / "draw-1" / "baseline" / "model.safetensors").registry_name == \
        "image_classifier"
    assert (exp / "samples" / "classes.png").is_file()


def test_a_missing_dataset_is_one_line_and_writes_nothing(tmp_path):
    run = wavegen_cli("recipe", "vae", "--data", "mnist", "--data-root", str(tmp_path / "nowhere"),
                      "--exp-dir", str(tmp_path / "exp"), cwd=tmp_path)
    assert run.returncode != 0
    assert "train-images-idx3-ubyte" in run.stderr and len(run.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "exp").exists()
    fashion = wavegen_cli("recipe", "cvae", "--data", "fashion-mnist", "--data-root", str(tmp_path / "nowhere"),
                          "--exp-dir", str(tmp_path / "exp"), cwd=tmp_path)
    assert fashion.returncode != 0 and "Fashion-MNIST" in fashion.stderr


def test_cgan_samples_are_of_the_asked_class_and_scored_beside_real_images(root):
    """Trained for real (about a minute): the class check and the scores table, then sampling and scoring by CLI."""
    exp = root / "cgan-digits"
    run = wavegen_cli("recipe", "cgan", "--data", "digits", "--exp-dir", str(exp),
                      *settings("train.max_steps=1500", "evaluate.count=300", "evaluate.per_class=50",
                                "classifier.train.max_steps=600"), cwd=root)
    assert run.returncode == 0, run.stderr
    accuracy = json.loads((exp / "stages" / "classes.json").read_text())["result"]["accuracy"]
    assert accuracy >= 0.9, run.stdout
    rows = {r["name"]: r for r in json.loads((exp / "scores.json").read_text())}
    assert set(rows) == {"real test images", "real training images", "cgan"}
    real, fake = rows["real training images"], rows["cgan"]
    assert real["count"] == fake["count"] == 300
    assert fake["inception_score"] > 6 and fake["frechet"] > real["frechet"]
    assert sorted(p.name for p in (exp / "samples").iterdir()) == ["classes.png", "interpolations.png"]
    # The eval log holds the Fréchet distance along training.
    assert (exp / "logs" / "eval.csv").read_text().startswith("step,elapsed_s,val_frechet")
    # `wavegen evaluate-generation` scores an image checkpoint like an audio one.
    scored = wavegen_cli("evaluate-generation", "-c", str(exp / "model.safetensors"), "--classifier",
                         str(root / "classifier-digits" / "model.safetensors"), "--data", str(exp / "data"),
                         "-n", "100", "--splits", "2", cwd=root)
    assert scored.returncode == 0, scored.stderr
    assert "real test images" in scored.stdout and "cgan" in scored.stdout
    from_corpus = wavegen_cli("evaluate-generation", "-c", str(exp / "model.safetensors"), "--classifier",
                              str(root / "classifier-digits" / "model.safetensors"), "--data", str(exp / "corpus"),
                              "-n", "100", "--splits", "2", cwd=root)
    assert from_corpus.returncode == 0 and from_corpus.stdout == scored.stdout
    # Sampling: a class, a latent walk between seeds; image files need an encoder.
    out = root / "gan-out"
    assert wavegen_cli("sample", "-c", str(exp / "model.safetensors"), "-o", str(out), "-n", "6", "--class", "4",
                       cwd=root).returncode == 0
    walk = wavegen_cli("sample", "-c", str(exp / "model.safetensors"), "-o", str(out), "-n", "5",
                       "--interpolate", "1", "2", cwd=root)
    assert walk.returncode == 0 and (out / "walk-1-2-grid.png").is_file()
    image = out / "class4-seed0-0.png"
    refused = wavegen_cli("sample", "-c", str(exp / "model.safetensors"), "-o", str(out), "--interpolate",
                          str(image), str(image), cwd=root)
    assert refused.returncode == 1 and "a cgan checkpoint cannot encode images" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    bad_path = wavegen_cli("sample", "-c", str(exp / "model.safetensors"), "-o", str(out), "--path", "cached",
                           cwd=root)
    assert bad_path.returncode == 1 and "--path" in bad_path.stderr


def test_dcgan_recipe_runs_each_objective_setting_and_refuses_bad_ones(root):
    exp = root / "dcgan-digits"
    tiny = ["train.max_steps=20", "train.batch_size=16", "train.log_every=5", "train.eval_every=10",
            "train.checkpoint_every=10", "evaluate.count=40", "evaluate.splits=2", "train.objective=least_squares"]
    run = wavegen_cli("recipe", "dcgan", "--data", "digits", "--exp-dir", str(exp), *settings(*tiny), cwd=root)
    assert run.returncode == 0, run.stderr
    assert "dcgan" in run.stdout and (exp / "samples" / "samples.png").is_file()
    assert wavegen.load(exp / "model.safetensors").registry_name == "dcgan"
    for setting, message in (("train.objective=wasserstein", "train.objective"),
                             ("model.width=0", "width"), ("evaluate.count=1", "evaluate.count")):
        bad = wavegen_cli("recipe", "dcgan", "--data", "digits", "--exp-dir", str(root / "bad"),
                          "--set", setting, cwd=root)
        assert bad.returncode == 1 and message in bad.stderr, (setting, bad.stderr)
        assert not (root / "bad").exists()


def test_pixelcnn_recipe_reports_its_likelihood_and_both_sampling_paths_give_the_same_images(root):
    exp = root / "pixelcnn-digits"
    tiny = ["train.max_steps=20", "train.batch_size=8", "train.log_every=5", "train.eval_every=10",
            "train.checkpoint_every=10", "model.channels=8", "model.layers=2", "model.output_hidden=16",
            "evaluate.count=50", "evaluate.samples=20", "evaluate.splits=2", "evaluate.per_class=2",
            "sample.count=10", "classifier.train.max_steps=100"]
    run = wavegen_cli("recipe", "pixelcnn", "--data", "digits", "--exp-dir", str(exp), *settings(*tiny), cwd=root)
    assert run.returncode == 0, run.stderr
    nll = json.loads((exp / "nll.json").read_text())
    assert nll["images"] == 50 and 0 < nll["nats_per_image"] < 784 * 0.6932
    assert "nats/image" in run.stdout and "pixelcnn" in run.stdout and (exp / "samples" / "classes.png").is_file()
    model = wavegen.load(exp / "model.safetensors")
    assert model.registry_name == "pixelcnn" and model.levels == 2 and model.num_classes == 10
    outs = {}
    for path in ("plain", "cached"):
        out = root / f"pcnn-{path}"
        sampled = wavegen_cli("sample", "-c", str(exp / "model.safetensors"), "-o", str(out), "-n", "3",
                              "--class", "7", "--path", path, cwd=root)
        assert sampled.returncode == 0, sampled.stderr
        outs[path] = [(out / f"class7-seed0-{i}.png").read_bytes() for i in range(3)]
    assert outs["plain"] == outs["cached"]
    refused = wavegen_cli("sample", "-c", str(exp / "model.safetensors"), "-o", str(root / "x"),
                          "--interpolate", "1", "2", cwd=root)
    assert refused.returncode == 1 and "latent" in refused.stderr
    wrong_path = wavegen_cli("sample", "-c", str(exp / "model.safetensors"), "-o", str(root / "x"),
                             "--path", "fused", cwd=root)
    assert wrong_path.returncode == 1 and "plain, cached" in wrong_path.stderr


# ---------------------------------------------------------------- small, empty and misshapen data

TINY_FOLDER = ["train.max_steps=1", "train.batch_size=2", "model.image_shape=[3,16,16]"]
TINY_FOLDER_VAE = [*TINY_FOLDER, "model.channels=[8,8,8,8]", "evaluate.ks=[1]"]
TINY_FOLDER_GAN = [*TINY_FOLDER, "model.width=8", "evaluate.count=8", "evaluate.splits=4", "evaluate.per_class=2",
                   "classifier.train.max_steps=1", "classifier.train.batch_size=2",
                   "classifier.model.channels=[4,4,4,4]"]


def pictures(root: Path, layout: dict[str, int], seed: int = 0) -> Path:
    """``layout[folder]`` noise PNGs (12×12 RGB) in each folder under ``root`` ("" = root itself)."""
    rng = np.random.default_rng(seed)
    for folder, count in layout.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            Image.fromarray(rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)).save(root / folder / f"img{i}.png")
    return root


def run_recipe(model: str, data: str, exp: Path, root: Path | None, *assignments: str) -> str:
    """A recipe run in this process (as `wavegen recipe MODEL --data DATA`, without the start-up of a new one)."""
    return importlib.import_module(f"wavegen.recipes.{model}.{data}").run(exp, root, list(assignments))


def mnist_layout(root: Path, side: int = 28, train: int = 6, test: int = 3) -> Path:
    rng = np.random.default_rng(0)
    for prefix, count in (("train", train), ("t10k", test)):
        write_idx(root / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (count, side, side), dtype=np.uint8))
        write_idx(root / f"{prefix}-labels-idx1-ubyte", rng.integers(0, 10, count, dtype=np.uint8))
    return root


def test_splits_too_small_to_train_or_score_on_are_refused_before_training(tmp_path):
    """Once these crashed inside training or after it (cannot reshape tensor of 0 elements, IndexError)."""
    def refused(model, data, root, *assignments, exp="exp"):
        with pytest.raises(WavegenError) as excinfo:
            run_recipe(model, data, tmp_path / exp, root, *assignments)
        assert not (tmp_path / exp / "model.safetensors").exists() and not (tmp_path / exp / "config.json").exists()
        return excinfo

    one = pictures(tmp_path / "one", {"": 1})          # a flat folder: its one image falls in one split only
    empty = "training" if is_test_path(Path("img0.png")) else "test"
    assert_one_line(refused("vae", "folder", one, *TINY_FOLDER_VAE, "train.batch_size=1"),
                    f"{one} (its {'train' if empty == 'training' else 'test'} split", f"0 {empty} images",
                    "vae needs at least 1", f"train/ and test/ folders in {one}")
    split = pictures(tmp_path / "split", {"train": 3})
    (split / "test").mkdir()
    assert str(refused("vae", "folder", split, *TINY_FOLDER_VAE).value) == (
        f"{split / 'test'}: 0 test images, and vae needs at least 1 (the likelihood bounds and the reconstructions)")
    assert str(refused("vae", "folder", split, *TINY_FOLDER_VAE, "train.batch_size=4").value).startswith(
        f"{split / 'train'}: 3 training images, and vae needs at least 4 (one training batch, train.batch_size); "
        "lower it with --set train.batch_size=3")
    mnist = mnist_layout(tmp_path / "mnist", test=0)
    assert str(refused("vae", "mnist", mnist, "train.batch_size=2").value).startswith(
        f"{mnist / 't10k-images-idx3-ubyte'}: 0 test images, and vae needs at least 1")
    # A judged GAN needs two test images for the Fréchet distance: refused before its classifier is trained.
    classes = pictures(tmp_path / "classes", {"train/a": 2, "train/b": 2, "test/a": 1})
    assert_one_line(refused("cgan", "folder", classes, *TINY_FOLDER_GAN, exp="cgan-folder"),
                    f"{classes / 'test'}: 1 test image, and cgan needs at least 2 (the Fréchet distance")
    assert not (tmp_path / "classifier-folder").exists()
    cli = wavegen_cli("recipe", "vae", "--data", "folder", "--data-root", str(split), "--exp-dir",
                      str(tmp_path / "cli"), *settings(*TINY_FOLDER_VAE), cwd=tmp_path)
    assert cli.returncode == 1 and cli.stderr == f"error: {split / 'test'}: 0 test images, and vae needs at " \
                                                 "least 1 (the likelihood bounds and the reconstructions)\n"


def test_a_few_test_images_give_smaller_pictures_and_fewer_inception_splits(tmp_path):
    """Fewer than 16 test images once broke the pictures, fewer than evaluate.splits the inception score."""
    few = pictures(tmp_path / "few", {"train": 4, "test": 3})
    table = run_recipe("vae", "folder", tmp_path / "vae-folder", few, *TINY_FOLDER_VAE)
    assert "on 3 test images" in table
    assert ImageManifest.load(tmp_path / "vae-folder" / "data").shape == (16, 16, 3)    # the model's size
    with Image.open(tmp_path / "vae-folder" / "samples" / "reconstructions.png") as picture:
        assert picture.width < picture.height * 2                        # one row of three, not of eight
    assert (tmp_path / "vae-folder" / "samples" / "interpolations.png").is_file()
    two = pictures(tmp_path / "two", {"train/a": 2, "train/b": 2, "test/a": 1, "test/b": 1})
    table = run_recipe("cgan", "folder", tmp_path / "cgan-folder", two, *TINY_FOLDER_GAN,
                       "evaluate.judge_min_accuracy=0")
    assert "(real test images: inception score over 2 splits, not 4, as there are only 2 images)" in table
    assert (tmp_path / "cgan-folder" / "results.txt").read_text() == table + "\n"


def test_the_image_shape_is_checked_against_the_prepared_images_before_training(tmp_path):
    """10×10 idx files, or a folder asked for grey images, once died in training: mat1 and mat2 shapes..."""
    small = mnist_layout(tmp_path / "small", side=10)
    with pytest.raises(WavegenError) as excinfo:
        run_recipe("vae", "mnist", tmp_path / "exp", small, "train.batch_size=2")
    assert str(excinfo.value) == (f"{small}: the images are 10×10 with 1 channel, but model.image_shape is "
                                  "[1, 28, 28]; use --set model.image_shape=[1,10,10]")
    assert not (tmp_path / "exp" / "config.json").exists()
    with pytest.raises(WavegenError) as excinfo:
        run_recipe("vae", "mnist", tmp_path / "exp", small, "train.batch_size=2", "model.architecture=conv")
    assert_one_line(excinfo, "the model cannot take [1, 10, 10] (a conv body with 2 layers needs height and width "
                             "divisible by 4, got 10×10); resize the images")
    folder = pictures(tmp_path / "folder", {"train": 2, "test": 1})
    with pytest.raises(WavegenError) as excinfo:
        run_recipe("dcgan", "folder", tmp_path / "grey", folder, *TINY_FOLDER, "model.image_shape=[1,16,16]")
    assert_one_line(excinfo, "model.image_shape must be [3, S, S]", "got [1, 16, 16]")
    assert not (tmp_path / "grey").exists()
