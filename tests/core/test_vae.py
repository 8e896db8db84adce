"""The VAE family in the core: bounds against an exact marginal likelihood, the KL, likelihoods, the task."""

import math

import pytest
import torch
from torch import nn

from wavegen.core.vae import (VAETask, elbo, gaussian_log_density, iwae_bound, kl_standard_normal,
                              log_likelihood, reparameterize)


class LinearGaussian(nn.Module):
    """p(z) = N(0, I), p(x|z) = N(Wz + b, s²I): log p(x) = log N(x; b, WWᵀ + s²I) exactly.

    W has orthogonal columns, so the exact posterior is diagonal and an encoder
    can represent it; ``shift`` and ``scale`` spoil the encoder on purpose.
    """

    def __init__(self, shift: float = 0.0, scale: float = 1.0):
        super().__init__()
        self.W = torch.tensor([[2.0, 0.0], [0.0, 1.0], [0.0, 0.0]], dtype=torch.float64)
        self.b = torch.tensor([0.5, -1.0, 0.2], dtype=torch.float64)
        self.s2 = 0.25
        self.shift, self.scale = shift, scale
        self.dummy = nn.Parameter(torch.zeros(1, dtype=torch.float64))

    def posterior(self, x):
        precision = torch.eye(2, dtype=torch.float64) + self.W.T @ self.W / self.s2
        cov = torch.linalg.inv(precision)
        mean = (x - self.b) @ self.W @ cov.T / self.s2
        return mean, torch.diagonal(cov).log().expand_as(mean)

    def encode(self, x, y=None):
        mu, logvar = self.posterior(x)
        return mu + self.shift + 0 * self.dummy, logvar + math.log(self.scale)

    def log_likelihood(self, x, z, y=None):
        return gaussian_log_density(x, z @ self.W.T + self.b, math.log(self.s2))

    def log_marginal(self, x):
        cov = self.W @ self.W.T + self.s2 * torch.eye(3, dtype=torch.float64)
        return torch.distributions.MultivariateNormal(self.b, cov).log_prob(x)


@pytest.fixture
def data():
    torch.manual_seed(0)
    return torch.randn(64, 3, dtype=torch.float64) * 1.5


def test_with_the_exact_posterior_both_bounds_equal_log_p_x(data):
    model = LinearGaussian()
    exact = model.log_marginal(data)
    torch.testing.assert_close(iwae_bound(model, data, k=3), exact)              # every weight is p(x)
    # The ELBO's one-draw reconstruction term is noisy; its expectation is exact (the KL gap is 0).
    torch.manual_seed(0)
    mean_elbo = torch.stack([elbo(model, data) for _ in range(500)]).mean(0)
    assert (mean_elbo - exact).abs().mean().item() < 0.05


def test_iwae_bound_is_above_the_elbo_grows_with_k_and_approaches_log_p_x(data):
    torch.manual_seed(1)
    model = LinearGaussian(shift=0.4, scale=2.0)
    exact = model.log_marginal(data).mean().item()
    elbo_mean = torch.stack([elbo(model, data) for _ in range(200)]).mean().item()
    bounds = {k: torch.stack([iwae_bound(model, data, k) for _ in range(r)]).mean().item()
              for k, r in ((1, 400), (5, 40), (50, 10))}
    big = iwae_bound(model, data, k=5000, chunk=1000).mean().item()
    assert bounds[1] == pytest.approx(elbo_mean, abs=0.1)                      # L_1 is the ELBO
    assert elbo_mean < bounds[5] < bounds[50] < big
    assert abs(exact - big) < 0.02                                              # a bound in expectation only
    assert exact - elbo_mean > 0.3


def test_kl_in_closed_form_equals_its_monte_carlo_estimate():
    torch.manual_seed(2)
    mu, logvar = torch.tensor([[0.5, -1.0, 2.0]], dtype=torch.float64), torch.tensor([[0.3, -0.7, 0.0]], dtype=torch.float64)
    z = reparameterize(mu.expand(200_000, 3), logvar.expand(200_000, 3))
    monte_carlo = (gaussian_log_density(z, mu, logvar) - gaussian_log_density(z)).mean()
    closed = kl_standard_normal(mu, logvar).sum()
    assert monte_carlo.item() == pytest.approx(closed.item(), abs=0.02)
    assert torch.equal(kl_standard_normal(torch.zeros(2, 4), torch.zeros(2, 4)), torch.zeros(2, 4))


def test_reparameterised_draws_carry_gradients_to_mean_and_variance():
    mu, logvar = torch.zeros(4, 2, requires_grad=True), torch.zeros(4, 2, requires_grad=True)
    reparameterize(mu, logvar).pow(2).sum().backward()
    assert mu.grad.abs().sum() > 0 and logvar.grad.abs().sum() > 0


def test_likelihoods_match_their_definitions():
    torch.manual_seed(3)
    x = torch.rand(2, 1, 3, 3).round()
    logits = torch.randn(2, 1, 3, 3)
    expected = torch.distributions.Bernoulli(logits=logits).log_prob(x).flatten(1).sum(1)
    torch.testing.assert_close(log_likelihood("bernoulli", logits, x), expected)
    mean, logvar = torch.randn(2, 5), torch.randn(2, 5)
    y = torch.randn(2, 5)
    normal = torch.distributions.Normal(mean, (0.5 * logvar).exp()).log_prob(y).sum(1)
    torch.testing.assert_close(log_likelihood("gaussian", (mean, logvar), y), normal)
    fixed = torch.distributions.Normal(mean, 1.0).log_prob(y).sum(1)
    torch.testing.assert_close(log_likelihood("gaussian", (mean, 0.0), y), fixed)
    # A discretised logistic over 4 levels puts a total mass of 1 on them.
    levels = torch.linspace(-1, 1, 4)
    params = torch.randn(1, 6, 1).expand(4, 6, 1)                   # K = 2 components, one pixel, 4 values
    mass = log_likelihood("discretized_logistic", params, levels.view(4, 1), bins=4).exp().sum()
    assert mass.item() == pytest.approx(1.0, abs=1e-4)
    with pytest.raises(ValueError, match="unknown likelihood"):
        log_likelihood("poisson", logits, x)


class TinyVAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Linear(4, 4)
        self.decoder = nn.Linear(2, 4)

    def encode(self, x, y=None):
        return self.encoder(x).chunk(2, dim=1)

    def log_likelihood(self, x, z, y=None):
        return log_likelihood("bernoulli", self.decoder(z), x)


def test_vae_task_trains_with_warm_up_and_free_bits():
    torch.manual_seed(4)
    x = (torch.rand(64, 4) > 0.5).float()
    task = VAETask(TinyVAE(), lr=1e-2, kl_warmup_steps=10, free_bits=0.5)
    first = task.train_step(x, 0)
    assert first["kl_weight"] == 0.0 and {"reconstruction", "kl", "nll"} <= set(first)
    for step in range(1, 200):
        logs = task.train_step(x, step)
    assert logs["kl_weight"] == 1.0 and logs["reconstruction"] > first["reconstruction"]
    task.validation = [x]
    assert task.evaluate()["val_nll"] > 0
    # Free bits: a posterior equal to the prior still pays λ per latent dimension.
    model = TinyVAE()
    nn.init.zeros_(model.encoder.weight)
    nn.init.zeros_(model.encoder.bias)
    free = VAETask(model, free_bits=0.5)
    plain = VAETask(model)
    torch.manual_seed(5)
    with_bits = free.loss(x)
    torch.manual_seed(5)
    without = plain.loss(x)
    assert (with_bits - without).item() == pytest.approx(2 * 0.5 / 4, abs=1e-6)
    with pytest.raises(ValueError, match="free_bits"):
        VAETask(TinyVAE(), free_bits=-1.0)


def test_an_empty_batch_is_a_one_line_value_error_not_an_index_error():
    """An empty MNIST t10k set once reached the task as an empty validation batch: IndexError in x[0]."""
    task = VAETask(TinyVAE())
    task.validation = [torch.zeros(0, 4)]
    with pytest.raises(ValueError) as excinfo:
        task.evaluate()
    assert "\n" not in str(excinfo.value) and "no examples" in str(excinfo.value)
