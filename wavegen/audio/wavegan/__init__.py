"""WaveGAN (Donahue et al. 2019): a DCGAN flattened to one dimension, generating raw waveforms."""
