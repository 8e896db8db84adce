"""The semi-supervised classification VAE, M2 (Kingma, Rezende, Mohamed and Welling 2014): one recipe per image dataset."""
