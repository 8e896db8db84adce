"""Image models on the shared core: VAEs (plain, conditional, semi-supervised M2) and the image classifier.

Images travel as float tensors (B, C, H, W) in [0, 1]; :mod:`wavegen.vision.images`
converts the readers' uint8 arrays and writes PNG grids.
"""
