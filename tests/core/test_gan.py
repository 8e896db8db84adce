import math

import pytest
import torch

from wavegen.core.gan import discriminator_loss, generator_loss, gradient_penalty
from wavegen.core.layers import (MinibatchDiscrimination, VirtualBatchNorm, annealed_noise_std,
                                 instance_noise, one_sided_label_smoothing)
from tests.toy import GaussianData, ToyGAN, ToyTask

REAL = torch.tensor([2.0, 0.0])
FAKE = torch.tensor([-1.0, 1.0])


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


def test_minimax_and_non_saturating_losses_by_hand():
    # D: -mean(log σ(real)) - mean(log(1 - σ(fake)))
    d = -(math.log(sigmoid(2)) + math.log(sigmoid(0))) / 2 - (math.log(1 - sigmoid(-1)) + math.log(1 - sigmoid(1))) / 2
    assert discriminator_loss("minimax", REAL, FAKE).item() == pytest.approx(d, rel=1e-6)
    assert discriminator_loss("non_saturating", REAL, FAKE).item() == pytest.approx(d, rel=1e-6)
    # G (minimax): mean(log(1 - σ(fake))); G (non-saturating): -mean(log σ(fake))
    g_mm = (math.log(1 - sigmoid(-1)) + math.log(1 - sigmoid(1))) / 2
    g_ns = -(math.log(sigmoid(-1)) + math.log(sigmoid(1))) / 2
    assert generator_loss("minimax", FAKE).item() == pytest.approx(g_mm, rel=1e-6)
    assert generator_loss("non_saturating", FAKE).item() == pytest.approx(g_ns, rel=1e-6)


def test_least_squares_hinge_wgan_by_hand():
    # LSGAN: 0.5 mean((real-1)^2) + 0.5 mean(fake^2); G: 0.5 mean((fake-1)^2)
    assert discriminator_loss("least_squares", REAL, FAKE).item() == pytest.approx(0.5 * (1 + 1) / 2 + 0.5 * (1 + 1) / 2)
    assert generator_loss("least_squares", FAKE).item() == pytest.approx(0.5 * (4 + 0) / 2)
    # one-sided label smoothing moves the real target only
    assert discriminator_loss("least_squares", REAL, FAKE, real_label=0.9).item() == pytest.approx(
        0.5 * (1.1**2 + 0.9**2) / 2 + 0.5)
    # hinge: mean(relu(1-real)) + mean(relu(1+fake)); G: -mean(fake)
    assert discriminator_loss("hinge", REAL, FAKE).item() == pytest.approx((0 + 1) / 2 + (0 + 2) / 2)
    assert generator_loss("hinge", FAKE).item() == pytest.approx(0.0)
    assert discriminator_loss("wgan_gp", REAL, FAKE).item() == pytest.approx(0.0 - 1.0)
    with pytest.raises(ValueError, match="unknown GAN objective"):
        discriminator_loss("nope", REAL, FAKE)


def test_gradient_penalty_of_linear_critic():
    # critic(x) = w·x has gradient w everywhere: penalty = (|w| - 1)^2
    w = torch.tensor([3.0, 4.0])
    gp = gradient_penalty(lambda x: x @ w, torch.randn(5, 2), torch.randn(5, 2))
    assert gp.item() == pytest.approx((5.0 - 1.0) ** 2)


def test_virtual_batch_norm_is_independent_of_batch_mates():
    torch.manual_seed(0)
    vbn = VirtualBatchNorm(3)
    ref = torch.randn(8, 3, 20) * 2 + 1
    y_ref, stats = vbn(ref)
    # the reference batch normalised by its own statistics has zero mean, unit variance per channel
    assert torch.allclose(y_ref.mean(dim=(0, 2)), torch.zeros(3), atol=1e-5)
    assert torch.allclose(y_ref.var(dim=(0, 2), unbiased=False), torch.ones(3), atol=1e-3)
    x = torch.randn(4, 3, 20)
    alone, _ = vbn(x[:1], stats)
    together, _ = vbn(x, stats)
    assert torch.allclose(alone, together[:1], atol=1e-6)
    # the blend: 1/(N+1) of the example's own statistics
    mean = x[:1].mean(dim=2, keepdim=True) / 9 + stats[0] * 8 / 9
    mean_sq = x[:1].pow(2).mean(dim=2, keepdim=True) / 9 + stats[1] * 8 / 9
    expected = (x[:1] - mean) / torch.sqrt(mean_sq - mean**2 + vbn.eps)
    assert torch.allclose(alone, expected, atol=1e-5)


def test_minibatch_discrimination_measures_closeness():
    torch.manual_seed(0)
    mbd = MinibatchDiscrimination(4, 3, kernel_dims=2)
    same = torch.ones(5, 4)
    out = mbd(same)
    assert out.shape == (5, 7)
    assert torch.allclose(out[:, 4:], torch.full((5, 3), 4.0))   # 4 identical neighbours, exp(0) each
    far = torch.arange(5.0).unsqueeze(1).repeat(1, 4) * 100
    assert mbd(far)[:, 4:].max() < 1e-3


def test_label_smoothing_and_instance_noise():
    assert torch.all(one_sided_label_smoothing(torch.zeros(3)) == 0.9)
    x = torch.zeros(10000)
    assert instance_noise(x, 0.0) is x
    assert instance_noise(x, 0.5).std().item() == pytest.approx(0.5, rel=0.05)
    assert annealed_noise_std(0, 0.2, 100) == pytest.approx(0.2)
    assert annealed_noise_std(50, 0.2, 100) == pytest.approx(0.1)
    assert annealed_noise_std(150, 0.2, 100) == 0.0


@pytest.mark.parametrize("objective", ["minimax", "non_saturating", "least_squares", "wgan_gp", "hinge"])
def test_adversarial_step_updates_both_players(objective):
    torch.manual_seed(0)
    model = ToyGAN()
    task = ToyTask(model, objective=objective, d_steps=2, instance_noise=0.1, instance_noise_steps=10)
    g0 = [p.clone() for p in model.generator.parameters()]
    d0 = [p.clone() for p in model.discriminator.parameters()]
    logs = task.train_step(GaussianData().x[:8], step=0)
    assert {"d_loss", "g_loss", "g_adv", "mean_match"} <= logs.keys()
    assert all(math.isfinite(v) for v in logs.values())
    assert logs["g_loss"] == pytest.approx(logs["g_adv"] + logs["mean_match"], rel=1e-5)
    assert any(not torch.equal(a, b) for a, b in zip(g0, model.generator.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(d0, model.discriminator.parameters()))


def test_k_discriminator_steps_per_generator_step():
    torch.manual_seed(0)
    model = ToyGAN()
    task = ToyTask(model, d_steps=3)
    counts = {"d": 0, "g": 0}
    task.optimizers["discriminator"].register_step_post_hook(lambda *a: counts.__setitem__("d", counts["d"] + 1))
    task.optimizers["generator"].register_step_post_hook(lambda *a: counts.__setitem__("g", counts["g"] + 1))
    task.train_step(GaussianData().x[:8], step=0)
    assert counts == {"d": 3, "g": 1}


def test_without_an_adversarial_term_the_discriminator_is_left_alone():
    # adversarial_weight=0 and no feature matching: the generator trains on its own terms, as a regression.
    import copy
    torch.manual_seed(0)
    model = ToyGAN()
    twin = copy.deepcopy(model)
    task = ToyTask(model, d_steps=2, instance_noise=0.1, instance_noise_steps=10, adversarial_weight=0.0)
    d0 = [p.clone() for p in model.discriminator.parameters()]
    real = GaussianData().x[:8]
    torch.manual_seed(1)
    logs = task.train_step(real, step=0)
    assert set(logs) == {"g_loss", "mean_match"} and logs["g_loss"] == pytest.approx(logs["mean_match"])
    assert all(torch.equal(a, b) for a, b in zip(d0, model.discriminator.parameters()))
    opt = torch.optim.Adam(twin.generator.parameters(), 1e-2)            # the same update, by hand
    torch.manual_seed(1)
    for _ in range(2):                                                   # one generator draw per d_step
        fake = twin.generator(torch.randn(8, twin.dim))
    opt.zero_grad()
    (0.1 * (fake.mean() - real.mean()).abs()).backward()
    opt.step()
    for a, b in zip(model.generator.parameters(), twin.generator.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
