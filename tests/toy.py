"""A tiny registered GAN used by the core tests (1-D Gaussian matching)."""

import torch
from torch import nn

from wavegen.core.gan import GANStepConfig, GANTask
from wavegen.core.registry import register_model


@register_model("toy-gan")
class ToyGAN(nn.Module):
    family = "gan"

    def __init__(self, dim: int = 4, hidden: int = 8):
        super().__init__()
        self.config = {"dim": dim, "hidden": hidden}
        self.dim = dim
        self.generator = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, dim))
        self.discriminator = nn.Sequential(nn.Linear(dim, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, 1))


class ToyTask(GANTask):
    def __init__(self, model, objective="least_squares", d_steps=1, **kw):
        super().__init__(model, model.generator, model.discriminator,
                         torch.optim.Adam(model.generator.parameters(), 1e-2),
                         torch.optim.RMSprop(model.discriminator.parameters(), 1e-2),
                         GANStepConfig(objective=objective, d_steps=d_steps, **kw))

    def split(self, batch):
        return batch, None

    def generate(self, condition):
        z = torch.randn(8, self.model.dim)
        return self.generator(z)

    def discriminate(self, x, condition):
        return self.discriminator(x).squeeze(1)

    def generator_terms(self, fake, real, condition):
        return {"mean_match": 0.1 * (fake.mean() - real.mean()).abs()}


class GaussianData(torch.utils.data.Dataset):
    def __init__(self, n=64, dim=4):
        g = torch.Generator().manual_seed(123)
        self.x = 2.0 + 0.5 * torch.randn(n, dim, generator=g)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i]
