"""Classifier recipes: the judges of generated samples (SC09 digits and its demo; the image datasets)."""
