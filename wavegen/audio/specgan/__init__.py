"""GANs that generate audio: SpecGAN and WaveGAN (Donahue et al. 2019) and a mel-spectrogram GAN vocoder.

Each model registers itself with :mod:`wavegen.core.registry`; this package
imports none of them, so loading one checkpoint loads only its own module.
"""
