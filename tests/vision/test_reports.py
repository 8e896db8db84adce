"""The VAE recipes' reports: bounds and pictures, with as few test images as a user's folder may hold."""

import logging

import pytest
import torch
from PIL import Image

from wavegen.vision.cvae import CVAE
from wavegen.vision.reports import likelihood_bounds, write_pictures
from wavegen.vision.vae import VAE

SHAPE = (1, 8, 8)


def images(count: int) -> torch.Tensor:
    return torch.rand(count, *SHAPE, generator=torch.Generator().manual_seed(count))


@pytest.mark.parametrize("model", [VAE(SHAPE, latent=2, hidden=[16]),
                                   CVAE(SHAPE, latent=2, hidden=[16], classes=["a", "b"])])
def test_three_test_images_give_a_reconstruction_row_of_three_and_one_walk(model, tmp_path):
    """Fewer than 16 test images once died in write_pictures: shape '[2, 8, 1, 8, 8]' is invalid."""
    paths = write_pictures(model, images(3), torch.tensor([0, 1, 0]), tmp_path)
    assert sorted(p.name for p in paths) == sorted(["interpolations.png", "reconstructions.png",
                                                    "classes.png" if model.num_classes else "samples.png"])
    wide = write_pictures(model, images(16), torch.zeros(16, dtype=torch.long), tmp_path / "sixteen")
    with Image.open(paths[0]) as few, Image.open(wide[0]) as many:
        assert few.width < many.width and few.height < many.height


def test_one_test_image_is_reconstructed_and_the_walks_are_left_out_with_a_warning(tmp_path, caplog):
    model = VAE(SHAPE, latent=2, hidden=[16])
    with caplog.at_level(logging.WARNING):
        paths = write_pictures(model, images(1), torch.zeros(1, dtype=torch.long), tmp_path)
    assert sorted(p.name for p in paths) == ["reconstructions.png", "samples.png"]
    assert not (tmp_path / "interpolations.png").exists()
    assert "one test image makes no pair" in caplog.text


def test_no_test_images_are_a_one_line_error_not_a_division_by_zero(tmp_path):
    model = VAE(SHAPE, latent=2, hidden=[16])
    for call in (lambda: likelihood_bounds(model, images(0), None, ks=[1]),
                 lambda: write_pictures(model, images(0), torch.zeros(0, dtype=torch.long), tmp_path)):
        with pytest.raises(ValueError, match="at least 1 test image, got none"):
            call()
