"""The vision models: VAEs and M2 on the core's bounds, the image sampler, and the pieces they share."""

import importlib
import math
import pkgutil
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import wavegen.recipes
import wavegen.vision
from wavegen.core.checkpoint import save_checkpoint
from wavegen.core.registry import get_model_class, registered_names
from wavegen.core.sampling import SampleRequest
from wavegen.core.vae import SemiSupervisedVAETask, labelled_bound, unlabelled_bound
from wavegen.errors import WavegenError
from wavegen.vision.classifier import ImageClassifier
from wavegen.vision.cvae import CVAE
from wavegen.vision.dcgan import DCGAN
from wavegen.vision.evaluate import draw_images
from wavegen.vision.generate import write_samples
from wavegen.vision.images import read_png, save_png, shift_images, slerp, tile
from wavegen.vision.ssvae import SSVAE, SemiSupervisedDataset, balanced_subset
from wavegen.vision.vae import VAE, PixelLikelihood

DIGITS = list("0123456789")


@pytest.mark.parametrize("architecture", ["mlp", "conv"])
@pytest.mark.parametrize("likelihood,shape", [("bernoulli", (1, 28, 28)), ("gaussian", (1, 28, 28)),
                                              ("discretized_logistic", (3, 32, 32))])
def test_vae_shapes_and_gradients(architecture, likelihood, shape):
    model = CVAE(list(shape), latent=8, architecture=architecture, hidden=[32], channels=[8, 16],
                 classes=DIGITS, likelihood=likelihood)
    x, y = torch.rand(4, *shape), torch.randint(0, 10, (4,))
    mu, logvar = model.encode(x, y)
    assert mu.shape == logvar.shape == (4, 8)
    z = torch.randn(4, 8, requires_grad=True)
    log_p = model.log_likelihood(x, z, y)
    assert log_p.shape == (4,) and torch.isfinite(log_p).all()
    log_p.sum().backward()
    assert z.grad.abs().sum() > 0
    images = model.images(torch.randn(5, 8), torch.arange(5))
    assert images.shape == (5, *shape) and 0 <= images.min() and images.max() <= 1


def test_conditional_vae_refuses_a_missing_label_and_odd_sizes():
    model = CVAE(classes=DIGITS, hidden=[16], latent=4)
    with pytest.raises(ValueError, match="class label"):
        model.encode(torch.rand(2, 1, 28, 28))
    with pytest.raises(ValueError, match="divisible by 8"):
        VAE([1, 28, 28], architecture="conv", channels=[8, 8, 8])
    with pytest.raises(ValueError, match="a conv body with 1 layer needs height and width divisible by 2"):
        VAE([1, 7, 7], architecture="conv", channels=[8])


@pytest.mark.parametrize("cls,classes,message", [(VAE, DIGITS, "a vae is unconditional"),
                                                 (CVAE, [], "a cvae is class-conditional"),
                                                 (CVAE, ["only"], "at least two classes")])
def test_the_plain_vae_refuses_classes_and_the_cvae_needs_two(cls, classes, message):
    with pytest.raises(ValueError, match=message):
        cls(hidden=[16], latent=4, classes=classes)


def test_bernoulli_pixels_are_the_cross_entropy_of_each_pixel():
    pixels = PixelLikelihood("bernoulli")
    logits = torch.tensor([[[[0.0, 2.0], [-1.0, 3.0]]]])
    x = torch.tensor([[[[1.0, 0.0], [0.0, 1.0]]]])
    p = torch.sigmoid(logits)
    expected = (x * p.log() + (1 - x) * (1 - p).log()).sum()
    assert pixels.log_prob(logits, x).item() == pytest.approx(expected.item(), rel=1e-6)
    assert torch.allclose(pixels.mean(logits), p)


class Deterministic(nn.Module):
    """An M2-shaped model whose q(z|x, y) is a point mass (log σ² = −60), so every bound is deterministic."""

    num_classes = 3

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(3, 4))

    def classify(self, x):
        return x @ self.w.T

    def encode(self, x, y=None):
        mu = x[:, :2] + y.float()[:, None]
        return mu, torch.full_like(mu, -60.0)

    def log_likelihood(self, x, z, y=None):
        return -((x[:, :2] - z) ** 2).sum(1) - y.float()


def test_unlabelled_bound_is_the_labelled_bound_averaged_over_q_plus_its_entropy():
    model, x = Deterministic(), torch.randn(5, 4)
    q = model.classify(x).softmax(-1)
    per_class = torch.stack([labelled_bound(model, x, torch.full((5,), k)) for k in range(3)], dim=1)
    expected = (q * per_class).sum(1) - (q * q.log()).sum(1)
    assert torch.allclose(unlabelled_bound(model, x), expected, atol=1e-5)
    # −L(x, y): log p(x|y, z) + log p(y) − KL, with p(y) uniform over the 3 classes.
    mu = x[:, :2]
    kl = 0.5 * (mu ** 2 + math.exp(-60) - 1 + 60).sum(1)
    assert torch.allclose(per_class[:, 0], -math.log(3) - kl, atol=1e-4)


def test_m2_objective_weights_follow_the_paper():
    """J^α/N = (N_l/N)·L + (N_u/N)·U + 0.1·CE: with everything labelled the unlabelled term is gone."""
    torch.manual_seed(0)
    model = SSVAE(hidden=[16], classifier_hidden=[16], latent=4)
    x_u, x_l, y_l = torch.rand(6, 1, 28, 28).round(), torch.rand(6, 1, 28, 28).round(), torch.randint(0, 10, (6,))
    task = SemiSupervisedVAETask(model, labelled=100, unlabelled=900)
    torch.manual_seed(1)
    loss = task.loss((x_u, x_l, y_l))
    logs = task._last
    expected = 0.1 * logs["labelled"] + 0.9 * logs["unlabelled"] + 0.1 * logs["cross_entropy"] * 784
    assert loss.item() == pytest.approx(expected / 784, rel=1e-5)
    everything = SemiSupervisedVAETask(model, labelled=1000, unlabelled=0)
    everything.loss((x_u, x_l, y_l))
    assert "unlabelled" not in everything._last


def test_balanced_subset_spreads_labels_over_classes_reproducibly():
    labels = np.repeat(np.arange(10), [50, 60, 70, 80, 90, 100, 40, 45, 55, 65])
    chosen = balanced_subset(labels, 100, seed=3)
    assert len(set(chosen)) == 100 and (np.diff(chosen) > 0).all()
    assert np.bincount(labels[chosen], minlength=10).tolist() == [10] * 10
    assert (balanced_subset(labels, 100, seed=3) == chosen).all()
    assert not (balanced_subset(labels, 100, seed=4) == chosen).all()
    uneven = np.bincount(labels[balanced_subset(labels, 105)], minlength=10)
    assert uneven.sum() == 105 and uneven.max() - uneven.min() <= 1


def test_semi_supervised_batches_pair_unlabelled_with_labelled_images():
    images = np.arange(20, dtype=np.uint8)[:, None, None, None] * np.ones((1, 2, 2, 1), np.uint8)
    labels = np.arange(20) % 4
    data = SemiSupervisedDataset(images, labels, np.array([0, 5, 10]))
    assert (data.labelled_count, data.unlabelled_count, len(data)) == (3, 17, 17)
    seen_unlabelled = {round(data[i][0][0, 0, 0].item() * 255) for i in range(len(data))}
    assert seen_unlabelled == set(range(20)) - {0, 5, 10}
    x_l, y_l = data[4][1], data[4][2]
    assert round(x_l[0, 0, 0].item() * 255) in (0, 5, 10) and y_l.item() == labels[round(x_l[0, 0, 0].item() * 255)]


def test_slerp_ends_at_both_latents_and_keeps_the_norm():
    torch.manual_seed(0)
    a, b = torch.randn(16), torch.randn(16)
    b = b / b.norm() * a.norm()
    path = slerp(a, b, 7)
    assert torch.allclose(path[0], a, atol=1e-5) and torch.allclose(path[-1], b, atol=1e-5)
    assert torch.allclose(path.norm(dim=1), a.norm().expand(7), rtol=1e-4)


def test_shift_images_moves_content_without_changing_it():
    torch.manual_seed(0)
    x = torch.zeros(8, 1, 10, 10)
    x[:, :, 4:6, 4:6] = 1
    moved = shift_images(x, 2)
    assert (moved.sum(dim=(1, 2, 3)) == 4).all()
    assert not torch.equal(moved, x)


def test_tile_lays_images_out_in_rows(tmp_path):
    images = torch.stack([torch.full((1, 3, 3), i / 5) for i in range(5)])
    sheet = tile(images, columns=2, pad=1)
    assert sheet.shape == (3 * 4 + 1, 2 * 4 + 1, 1)
    assert sheet[1 + 4, 1 + 4, 0] == round(3 / 5 * 255)           # image 3: second row, second column
    path = save_png(tmp_path / "one.png", images[2])
    assert torch.allclose(read_png(path, (1, 3, 3)), images[2], atol=1 / 255)


# ---------------------------------------------------------------- wavegen sample on image checkpoints

@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    folder = tmp_path_factory.mktemp("vision-checkpoints")
    torch.manual_seed(0)
    plain, conditional = VAE(hidden=[16], latent=4), CVAE(hidden=[16], latent=4, classes=DIGITS)
    save_checkpoint(folder / "vae.safetensors", plain)
    save_checkpoint(folder / "cvae.safetensors", conditional)
    return folder


def _sample(checkpoint, out, *args):
    from click.testing import CliRunner
    from wavegen.cli import main
    return CliRunner().invoke(main, ["sample", "-c", str(checkpoint), "-o", str(out), *args])


def test_sample_writes_a_grid_and_single_images_reproducibly(checkpoints, tmp_path):
    result = _sample(checkpoints / "vae.safetensors", tmp_path / "a", "-n", "12", "--seed", "4")
    assert result.exit_code == 0, result.output
    singles = sorted((tmp_path / "a").glob("seed4-*.png"))
    assert len([p for p in singles if "grid" not in p.name]) == 12 and (tmp_path / "a" / "seed4-grid.png").is_file()
    again = _sample(checkpoints / "vae.safetensors", tmp_path / "b", "-n", "12", "--seed", "4")
    assert again.exit_code == 0
    assert (tmp_path / "a" / "seed4-3.png").read_bytes() == (tmp_path / "b" / "seed4-3.png").read_bytes()
    refused = _sample(checkpoints / "vae.safetensors", tmp_path / "a", "-n", "12", "--seed", "4")
    assert refused.exit_code != 0 and "already exists" in refused.output


def test_sample_by_class_name_or_index_and_every_class_by_default(checkpoints, tmp_path):
    model = CVAE(hidden=[16], latent=4, classes=DIGITS)
    by_name = write_samples(model, tmp_path / "name", SampleRequest(count=3, label="7"))
    assert [p.name for p in by_name] == ["class7-seed0-0.png", "class7-seed0-1.png", "class7-seed0-2.png",
                                         "class7-seed0-grid.png"]
    every = write_samples(model, tmp_path / "all", SampleRequest(count=20))
    assert len(every) == 21
    for request, message in [(SampleRequest(label="11"), "not one of this model's classes"),
                             (SampleRequest(seconds=1.0), "--seconds"),
                             (SampleRequest(count=0), "-n must be at least 1")]:
        with pytest.raises(WavegenError, match=message):
            write_samples(model, tmp_path / "bad", request)
    assert not (tmp_path / "bad").exists()
    unconditional = _sample(checkpoints / "vae.safetensors", tmp_path / "c", "--class", "3")
    assert unconditional.exit_code != 0 and "not class-conditional" in unconditional.output


def test_interpolate_between_seeds_and_between_image_files(checkpoints, tmp_path):
    result = _sample(checkpoints / "vae.safetensors", tmp_path / "walk", "--interpolate", "1", "2")
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "walk").glob("walk-1-2-*.png"))) == 11      # ten steps and the grid
    model = VAE(hidden=[16], latent=4)
    ends = [save_png(tmp_path / f"{name}.png", torch.rand(1, 28, 28)) for name in ("left", "right")]
    paths = write_samples(model, tmp_path / "files", SampleRequest(count=5, interpolate=(str(ends[0]), str(ends[1]))))
    assert paths[0].name == "walk-left-right-0.png"
    first = read_png(paths[0], (1, 28, 28))
    mu = model.encode(read_png(ends[0], (1, 28, 28))[None])[0]
    assert torch.allclose(first, model.images(mu)[0], atol=1 / 255)          # the walk starts at the encoding
    with pytest.raises(WavegenError, match="neither a seed"):
        write_samples(model, tmp_path / "x", SampleRequest(count=5, interpolate=("nowhere.png", "3")))


# ---------------------------------------------------------------- names and capabilities

def _vision_models() -> list[type]:
    """Every registered class defined in wavegen.vision (each of its modules imported first)."""
    for module in pkgutil.iter_modules(wavegen.vision.__path__):
        importlib.import_module(f"wavegen.vision.{module.name}")
    return [cls for cls in map(get_model_class, registered_names()) if cls.__module__.startswith("wavegen.vision.")]


def test_each_vision_model_is_named_after_its_module_and_its_recipe():
    """Module name = registry name = recipe folder; the image classifier is the one documented exception."""
    models = _vision_models()
    assert {cls.registry_name for cls in models} == {"vae", "cvae", "ssvae", "dcgan", "cgan", "pixelcnn",
                                                     "image_classifier"}
    recipes = Path(wavegen.recipes.__path__[0])
    for cls in models:
        module = cls.__module__.rsplit(".", 1)[-1]
        if cls is ImageClassifier:        # `wavegen recipe classifier` trains it (on images) and the audio one
            assert (cls.registry_name, module) == ("image_classifier", "classifier")
        else:
            assert cls.registry_name == module, cls
        recipe = recipes / module
        assert (recipe / "digits.py").is_file() and (recipe / "mnist.py").is_file(), recipe


def test_a_checkpoint_that_cannot_do_something_says_in_one_line_what_it_can(tmp_path):
    torch.manual_seed(0)
    gan = DCGAN([1, 28, 28], latent=4, width=8)
    image = str(save_png(tmp_path / "x.png", torch.rand(1, 28, 28)))
    with pytest.raises(WavegenError) as refused:
        write_samples(gan, tmp_path / "out", SampleRequest(count=5, interpolate=(image, image)))
    message = str(refused.value)
    assert message.startswith(f"--interpolate {image}: a dcgan checkpoint cannot encode images; it can generate "
                              f"images") and "\n" not in message
    classifier = ImageClassifier(classes=["a", "b"], channels=[4, 4], embedding=8)
    for refuse in (lambda: draw_images(classifier, 4, seed=0),
                   lambda: write_samples(classifier, tmp_path / "none", SampleRequest(count=4))):
        with pytest.raises(WavegenError) as refused:
            refuse()
        message = str(refused.value)
        assert message.endswith("image_classifier checkpoint cannot generate images; it can classify")
        assert "\n" not in message
    assert not (tmp_path / "out").exists() and not (tmp_path / "none").exists()
