"""Image models on the shared core, one module per model, named as its registry entry and its recipe.

- :mod:`~wavegen.vision.vae` (``vae``), :mod:`~wavegen.vision.cvae` (``cvae``, its
  class-conditional form), :mod:`~wavegen.vision.ssvae` (``ssvae``, M2);
- :mod:`~wavegen.vision.dcgan` (``dcgan``), :mod:`~wavegen.vision.cgan` (``cgan``);
- :mod:`~wavegen.vision.pixelcnn` (``pixelcnn``);
- :mod:`~wavegen.vision.classifier` (``image_classifier``, trained by the recipe
  ``classifier``, whose audio classifier is ``audio_classifier``), the judge of
  generated images.

Each model class declares what it can do (:mod:`wavegen.vision.capabilities`).
Images travel as float tensors (B, C, H, W) in [0, 1]; :mod:`wavegen.vision.images`
converts the readers' uint8 arrays and writes PNG grids.
"""
