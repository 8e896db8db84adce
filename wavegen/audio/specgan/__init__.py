"""SpecGAN (Donahue et al. 2019): a DCGAN on log-magnitude spectrograms, inverted by Griffin-Lim."""
