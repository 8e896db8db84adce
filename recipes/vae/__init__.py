"""A VAE (Kingma and Welling 2014): one recipe per image dataset."""
