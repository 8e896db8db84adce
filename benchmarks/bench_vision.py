"""Speed of the image VAEs and GANs: training images per second and sampled images per second.

    python benchmarks/bench_vision.py [--threads 2] [--batch 100]

Each row is one recipe's model at its recipe's size: the MLP VAE and CVAE of
the grey-level datasets (28×28, Bernoulli pixels), M2 (each unlabelled image
is decoded under all ten classes, so a step does about eleven times a VAE's
decoder work per image), the convolutional VAE of CIFAR-10 (32×32 colour,
discretised logistic mixture), the DCGAN and conditional GAN of the dcgan/cgan
recipes (28×28 grey, 32×32 colour; a step is one discriminator and one
generator update) and the image classifier. A training step is the
recipe's: ``--batch`` images (M2: as many unlabelled and as many labelled),
forward, backward and Adam. Sampling decodes 1000 prior draws to mean images,
as ``wavegen sample`` does. Random images stand in for data: speed does not
depend on what they hold. Best of 3 after a warm-up (`benchmarks/timing.py`).
"""

from __future__ import annotations

import argparse
import platform

import torch

from wavegen.core.likelihood import ClassifierTask
from wavegen.core.vae import SemiSupervisedVAETask, VAETask
from wavegen.vision.classifier import ImageClassifier
from wavegen.vision.cgan import CGAN
from wavegen.vision.cvae import CVAE
from wavegen.vision.dcgan import DCGAN, DCGANTask
from wavegen.vision.images import binarize
from wavegen.vision.ssvae import SSVAE
from wavegen.vision.vae import VAE

from timing import best_time          # benchmarks/timing.py (the script's folder is on sys.path)

DIGITS = list("0123456789")


def cases(batch: int):
    """(name, model, task, batch, images per step) for each recipe's model."""
    grey = torch.rand(batch, 1, 28, 28)
    colour = torch.rand(batch, 3, 32, 32)
    labels = torch.randint(0, 10, (batch,))
    vae = VAE()
    yield "VAE mlp 28x28", vae, VAETask(vae, augment=binarize), grey, batch
    cvae = CVAE(classes=DIGITS)
    yield "CVAE mlp 28x28", cvae, VAETask(cvae, augment=binarize), (grey, labels), batch
    m2 = SSVAE(latent=50, hidden=[500], classifier_hidden=[500])
    task = SemiSupervisedVAETask(m2, labelled=100, unlabelled=1000, augment=binarize)
    yield "M2 mlp 28x28", m2, task, (grey, grey, labels), 2 * batch
    conv = VAE([3, 32, 32], latent=128, architecture="conv", channels=[64, 128, 256],
               likelihood="discretized_logistic")
    yield "VAE conv 32x32x3", conv, VAETask(conv), colour, batch
    gan = DCGAN([1, 28, 28])
    yield "DCGAN 28x28", gan, DCGANTask(gan), grey, batch
    cgan = CGAN([1, 28, 28], classes=DIGITS)
    yield "cGAN 28x28", cgan, DCGANTask(cgan), (grey, labels), batch
    gan32 = DCGAN([3, 32, 32], width=128)
    yield "DCGAN 32x32x3", gan32, DCGANTask(gan32), colour, batch
    judge = ImageClassifier(classes=DIGITS)
    yield "classifier conv 28x28", judge, ClassifierTask(judge), (grey, labels), batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--batch", type=int, default=100, help="images per training step (the recipes' batch)")
    parser.add_argument("--samples", type=int, default=1000, help="images sampled per timing")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"# {platform.processor() or platform.machine()}, torch {torch.__version__}, {args.threads} threads, "
          f"batch {args.batch}")
    print(f"{'model':<22} {'params (M)':>10} {'train images/s':>15} {'ms/step':>8} {'sampled images/s':>17}")
    for name, model, task, batch, images in cases(args.batch):
        model.train()
        step = best_time(lambda: task.train_step(batch, 0), 3)
        sampling = "-"
        if hasattr(model, "images"):
            model.eval()
            y = torch.arange(args.samples) % 10 if model.num_classes else None
            z = torch.randn(args.samples, model.latent)
            sampling = f"{args.samples / best_time(lambda: model.images(z, y), 3):.0f}"
        params = sum(p.numel() for p in model.parameters()) / 1e6
        print(f"{name:<22} {params:>10.2f} {images / step:>15.0f} {step * 1000:>8.1f} {sampling:>17}", flush=True)


if __name__ == "__main__":
    main()
