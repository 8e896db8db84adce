"""A conditional VAE (Sohn, Lee and Yan 2015): one recipe per image dataset."""
