"""Family-level code shared by every model: GAN, VAE and autoregressive families,
the trainer, checkpoints and the model registry. Nothing here knows about audio or images."""
