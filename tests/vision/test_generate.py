"""`wavegen sample` on image models against odd input: names, temperatures, huge counts, replacing a run."""

from __future__ import annotations

import math

import pytest
import torch

from tests.support import assert_one_line, wavegen_cli
from wavegen.core import sampling
from wavegen.core.checkpoint import save_checkpoint
from wavegen.core.sampling import SampleRequest, safe_name, safe_names
from wavegen.errors import WavegenError
from wavegen.vision.cgan import CGAN
from wavegen.vision.cvae import CVAE
from wavegen.vision.dcgan import DCGAN
from wavegen.vision.generate import write_samples
from wavegen.vision.pixelcnn import PixelCNN
from wavegen.vision.vae import VAE

DIGITS = list("0123456789")


def vae():
    torch.manual_seed(0)
    return VAE(hidden=[16], latent=4)


def names(folder):
    return sorted(p.name for p in folder.iterdir())


IMAGE_MODELS = {
    "vae": vae,
    "cvae": lambda: CVAE(hidden=[16], latent=4, classes=["a", "b"]),
    "dcgan": lambda: DCGAN([1, 28, 28], latent=4, width=8),
    "cgan": lambda: CGAN([1, 28, 28], latent=4, width=8, classes=["a", "b"]),
    "pixelcnn": lambda: PixelCNN([1, 6, 7], 2, channels=8, layers=2, kernel=3, first_kernel=5, output_hidden=16),
}


# ---------------------------------------------------------------- temperature

@pytest.mark.parametrize("temperature", [math.inf, math.nan, 0.0, -1.0])
@pytest.mark.parametrize("kind", list(IMAGE_MODELS))
def test_a_temperature_that_is_not_a_positive_number_is_one_line_and_writes_nothing(tmp_path, kind, temperature):
    """--temperature inf wrote all-black PNGs with exit 0 for VAE, CVAE, DCGAN and cGAN."""
    with pytest.raises(WavegenError) as refused:
        write_samples(IMAGE_MODELS[kind](), tmp_path / "out", SampleRequest(count=2, temperature=temperature))
    assert_one_line(refused, "--temperature", "positive number", str(temperature))
    assert not (tmp_path / "out").exists()


def test_the_sample_command_refuses_an_infinite_temperature_before_loading(tmp_path):
    checkpoint = save_checkpoint(tmp_path / "vae.safetensors", vae())
    run = wavegen_cli("sample", "-c", str(checkpoint), "-o", str(tmp_path / "out"), "--temperature", "inf",
                      cwd=tmp_path)
    assert run.returncode == 1 and run.stderr.startswith("error: --temperature must be a positive number, got inf")
    assert len(run.stderr.strip().splitlines()) == 1 and not (tmp_path / "out").exists()


def test_image_names_carry_a_temperature_other_than_one(tmp_path):
    """--help says file names record the temperature; image names did not."""
    model = vae()
    cooled = write_samples(model, tmp_path, SampleRequest(count=2, temperature=0.5))
    assert [p.name for p in cooled] == ["seed0-t0.5-0.png", "seed0-t0.5-1.png", "seed0-t0.5-grid.png"]
    plain = write_samples(model, tmp_path, SampleRequest(count=2))
    assert [p.name for p in plain] == ["seed0-0.png", "seed0-1.png", "seed0-grid.png"]
    walk = write_samples(model, tmp_path, SampleRequest(count=2, temperature=2.0, interpolate=("1", "2")))
    assert walk[0].name == "walk-1-2-t2-0.png"
    conditional = CVAE(hidden=[16], latent=4, classes=DIGITS)
    by_class = write_samples(conditional, tmp_path, SampleRequest(count=1, label="7", temperature=0.8))
    assert [p.name for p in by_class] == ["class7-seed0-t0.8-0.png", "class7-seed0-t0.8-grid.png"]


# ---------------------------------------------------------------- class names

@pytest.mark.filterwarnings("error")               # a glyph the font lacks is written out, not drawn as a box
def test_class_names_keep_their_letters_and_only_unsafe_characters_change(tmp_path):
    """A class named 猫 became class_-seed0-0.png."""
    model = CVAE(hidden=[16], latent=4, classes=["猫", "chien", "très bien"])
    cat = write_samples(model, tmp_path, SampleRequest(count=1, label="猫"))
    assert [p.name for p in cat] == ["class猫-seed0-0.png", "class猫-seed0-grid.png"]
    assert write_samples(model, tmp_path, SampleRequest(count=1, label="2"))[0].name == "classtrès bien-seed0-0.png"


def test_only_characters_a_file_name_cannot_hold_are_replaced():
    assert safe_name("猫") == "猫" and safe_name("Ünïcødé_ok-1.2") == "Ünïcødé_ok-1.2"
    assert safe_name("a/b\\c:d*e?f\"g<h>i|j") == "a_b_c_d_e_f_g_h_i_j"
    assert safe_name("tab\there\x00nul\x7f") == "tab_here_nul_"
    assert safe_name("..hidden") == "__hidden" and safe_name("") == "_"


def test_classes_whose_safe_names_meet_do_not_overwrite_each_other(tmp_path):
    assert safe_names(["a_b", "a/b", "a:b", "ok"]) == ["a_b", "a_b-1", "a_b-2", "ok"]
    assert safe_names(["a/b", "a:b"]) == ["a_b-0", "a_b-1"]
    model = CVAE(hidden=[16], latent=4, classes=["a/b", "a:b", "a_b"])
    written = [write_samples(model, tmp_path, SampleRequest(count=1, label=label))[0]
               for label in ("a/b", "a:b", "a_b")]
    assert [p.name for p in written] == ["classa_b-0-seed0-0.png", "classa_b-1-seed0-0.png", "classa_b-seed0-0.png"]
    assert len(names(tmp_path)) == 6                    # three images and three grids, none replaced


# ---------------------------------------------------------------- counts

def test_a_huge_count_is_refused_before_any_work_unless_many(tmp_path, monkeypatch):
    """-n 100000 on the digits VAE wrote 100,001 PNGs (396 MB) without a word."""
    with pytest.raises(WavegenError) as refused:
        write_samples(vae(), tmp_path / "out", SampleRequest(count=100000))
    assert_one_line(refused, "-n 100000", "100000 samples", "--many")
    assert not (tmp_path / "out").exists()
    monkeypatch.setattr(sampling, "MAX_SAMPLES", 3)              # the same rule, at a size a test can afford
    with pytest.raises(WavegenError, match="--many"):
        write_samples(vae(), tmp_path / "out", SampleRequest(count=4))
    assert not (tmp_path / "out").exists()
    assert len(write_samples(vae(), tmp_path / "out", SampleRequest(count=4, many=True))) == 5


def test_a_walk_of_every_class_counts_and_writes_every_image(tmp_path, monkeypatch):
    model = CVAE(hidden=[16], latent=4, classes=["a", "b", "c"])
    paths = write_samples(model, tmp_path, SampleRequest(count=3, interpolate=("1", "2")))
    assert len(paths) == 3 * 3 + 1 and all(p.is_file() for p in paths)
    monkeypatch.setattr(sampling, "MAX_SAMPLES", 8)              # 3 steps of 3 classes are 9 images
    with pytest.raises(WavegenError, match="9 samples"):
        write_samples(model, tmp_path / "other", SampleRequest(count=3, interpolate=("1", "2")))


@pytest.mark.parametrize("count", ["0", "-3"])
def test_a_count_below_one_is_one_line(tmp_path, count):
    checkpoint = save_checkpoint(tmp_path / "vae.safetensors", vae())
    run = wavegen_cli("sample", "-c", str(checkpoint), "-o", str(tmp_path / "out"), "-n", count, cwd=tmp_path)
    assert run.returncode == 1 and run.stderr.strip() == f"error: -n must be at least 1, got {count}"
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- replacing an earlier run

def test_overwrite_with_fewer_images_removes_the_earlier_runs_extra_files_and_nothing_else(tmp_path):
    """--overwrite -n 4 over an -n 8 run left four older images beside the new ones."""
    model = vae()
    write_samples(model, tmp_path, SampleRequest(count=8))
    others = ["seed1-6.png", "seed0-t0.5-6.png", "seed0-06.png", "seed0-6.txt", "class1-seed0-6.png", "mine.png"]
    for name in others:
        (tmp_path / name).write_bytes(b"not this run's")
    (tmp_path / "seed0-9.png").mkdir()                           # a folder of that name is not a file of the run
    again = write_samples(model, tmp_path, SampleRequest(count=4, seed=0, overwrite=True))
    assert [p.name for p in again.removed] == [f"seed0-{i}.png" for i in range(4, 8)]
    assert names(tmp_path) == sorted([*(f"seed0-{i}.png" for i in range(4)), "seed0-grid.png", "seed0-9.png",
                                      *others])
    assert all((tmp_path / name).read_bytes() == b"not this run's" for name in others)


def test_the_sample_command_says_what_it_removed(tmp_path):
    checkpoint = save_checkpoint(tmp_path / "vae.safetensors", vae())
    out = tmp_path / "out"
    assert wavegen_cli("sample", "-c", str(checkpoint), "-o", str(out), "-n", "6", cwd=tmp_path).returncode == 0
    refused = wavegen_cli("sample", "-c", str(checkpoint), "-o", str(out), "-n", "2", cwd=tmp_path)
    assert refused.returncode == 1 and "seed0-0.png already exists" in refused.stderr
    assert len(names(out)) == 7
    run = wavegen_cli("sample", "-c", str(checkpoint), "-o", str(out), "-n", "2", "--overwrite", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [f"wrote 3 files into {out}",
                                       "removed 4 files of the earlier run of that name "
                                       "(seed0-2.png, seed0-3.png, seed0-4.png, ...)"]
    assert names(out) == ["seed0-0.png", "seed0-1.png", "seed0-grid.png"]


def test_existing_files_are_refused_before_any_image_is_generated(tmp_path, monkeypatch):
    import wavegen.vision.generate as generate
    (tmp_path / "seed0-grid.png").write_bytes(b"mine")

    def no_generation(*args, **kwargs):
        raise AssertionError("generated before checking the outputs")

    monkeypatch.setattr(generate, "generate_images", no_generation)
    with pytest.raises(WavegenError) as refused:
        write_samples(vae(), tmp_path, SampleRequest(count=2))
    assert_one_line(refused, "seed0-grid.png already exists", "--overwrite")
    (tmp_path / "seed0-grid.png").unlink()
    (tmp_path / "seed0-1.png").mkdir()
    with pytest.raises(WavegenError, match="a folder is in the way"):
        write_samples(vae(), tmp_path, SampleRequest(count=2, overwrite=True))
