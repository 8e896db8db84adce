"""HiFi-GAN (Kong et al. 2020): a mel-spectrogram GAN vocoder, its discriminators and its training."""
