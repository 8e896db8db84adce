"""The vision GANs: DCGAN shapes, each objective's step on a toy problem, conditioning, latent helpers."""

import pytest
import torch

import wavegen
from wavegen.core.checkpoint import save_checkpoint
from wavegen.core.gan import OBJECTIVES, GANStepConfig, discriminator_loss, generator_loss, gradient_penalty
from wavegen.vision.cgan import CGAN
from wavegen.vision.dcgan import DCGAN, DCGANTask, size_ladder
from wavegen.vision.images import latent_arithmetic, slerp


@pytest.mark.parametrize("shape, start, doublings", [([1, 28, 28], 7, 2), ([3, 32, 32], 4, 3), ([3, 64, 64], 4, 4)])
def test_dcgan_makes_images_of_its_size_from_the_papers_ladder(shape, start, doublings):
    assert size_ladder(shape[1]) == (start, doublings)
    model = DCGAN(shape, latent=8, width=8)
    images = model.images(torch.randn(3, 8))
    assert images.shape == (3, *shape) and images.min() >= 0 and images.max() <= 1
    assert model.discriminator(torch.rand(3, *shape) * 2 - 1).shape == (3,)
    with pytest.raises(ValueError, match="size 31"):
        size_ladder(31)


def _losses(task, real, z, objective):
    """(discriminator loss, generator loss) as floats, on fixed real images and latents."""
    return tuple(loss.item() for loss in _losses_graph(task, real, z, objective))


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_a_dcgan_step_with_each_objective_lowers_its_losses_on_a_toy_problem(objective):
    """Toy data: 28×28 images of one bright square. One discriminator update lowers the discriminator's loss
    (generator fixed); one generator update then lowers the generator's loss (discriminator fixed)."""
    torch.manual_seed(0)
    model = DCGAN([1, 28, 28], latent=8, width=8, discriminator_norm="layer" if objective == "wgan_gp" else "none")
    task = DCGANTask(model, step_config=GANStepConfig(objective=objective))
    real = -torch.ones(32, 1, 28, 28)
    real[:, :, 10:18, 10:18] = 1.0
    z = torch.randn(32, 8)
    d_before, _ = _losses(task, real, z, objective)
    opt_d, opt_g = task.optimizers["discriminator"], task.optimizers["generator"]
    for _ in range(3):
        d_loss = _losses_graph(task, real, z, objective)[0]
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
    d_after, g_before = _losses(task, real, z, objective)
    assert d_after < d_before
    for _ in range(3):
        g_loss = _losses_graph(task, real, z, objective)[1]
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
    assert _losses(task, real, z, objective)[1] < g_before
    # And the trainer's step runs with this objective and reports finite losses.
    logs = task.train_step(((real + 1) / 2, torch.zeros(32, dtype=torch.long)), 0)
    assert all(torch.isfinite(torch.tensor(v)) for v in logs.values())


def _losses_graph(task, real, z, objective):
    """(discriminator loss, generator loss) as the step computes them (the penalty's interpolates seeded)."""
    fake = task.generator(z, None)
    d_loss = discriminator_loss(objective, task.discriminator(real), task.discriminator(fake.detach()))
    if objective == "wgan_gp":
        d_loss = d_loss + 10 * gradient_penalty(task.discriminator, real, fake.detach(),
                                                torch.Generator().manual_seed(0))
    return d_loss, generator_loss(objective, task.discriminator(fake))


def test_the_conditional_gan_uses_its_class_in_both_networks():
    torch.manual_seed(0)
    model = CGAN([1, 28, 28], latent=8, width=8, classes=list("abc"))
    z = torch.randn(4, 8)
    a, b = model.images(z, torch.zeros(4, dtype=torch.long)), model.images(z, torch.ones(4, dtype=torch.long))
    assert not torch.allclose(a, b)
    model.eval()
    x = torch.rand(4, 1, 28, 28)
    assert not torch.allclose(model.discriminator(x, torch.zeros(4, dtype=torch.long)),
                              model.discriminator(x, torch.full((4,), 2)))
    with pytest.raises(ValueError, match="needs a class"):
        model.images(z)
    with pytest.raises(ValueError, match="not class-conditional"):
        DCGAN([1, 28, 28], latent=8, width=8).images(z, torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="a dcgan is unconditional"):
        DCGAN([1, 28, 28], classes=list("abc"))
    with pytest.raises(ValueError, match="a cgan is class-conditional"):
        CGAN([1, 28, 28])


def test_minibatch_discrimination_and_checkpoint_round_trip(tmp_path):
    torch.manual_seed(0)
    model = CGAN([1, 28, 28], latent=8, width=8, classes=["x", "y"], minibatch_features=4)
    task = DCGANTask(model, step_config=GANStepConfig(objective="hinge", real_label=0.9))
    task.train_step((torch.rand(8, 1, 28, 28), torch.randint(0, 2, (8,))), 0)
    path = tmp_path / "gan.safetensors"
    save_checkpoint(path, model)
    loaded = wavegen.load(path)
    z, y = torch.randn(5, 8), torch.tensor([0, 1, 0, 1, 1])
    assert type(loaded) is CGAN and loaded.classes == ["x", "y"]
    assert torch.equal(loaded.images(z, y), model.images(z, y))


def test_latent_helpers_walk_the_sphere_and_do_arithmetic_on_means():
    a, b = torch.randn(16), torch.randn(16)
    walk = slerp(a, b, 7)
    assert torch.allclose(walk[0], a, atol=1e-6) and torch.allclose(walk[-1], b, atol=1e-6)
    # Vector arithmetic (Radford et al. 2016, §6.3.2): means of each group, then a − b + c.
    groups = [torch.randn(3, 16) for _ in range(3)]
    expected = groups[0].mean(0) - groups[1].mean(0) + groups[2].mean(0)
    assert torch.allclose(latent_arithmetic(*groups), expected)
    assert torch.allclose(latent_arithmetic(a[None], a[None], b[None]), b)
