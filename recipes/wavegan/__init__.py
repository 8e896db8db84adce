"""WaveGAN recipes: SC09 and its demo corpus."""
