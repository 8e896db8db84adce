"""Build steps that pyproject.toml cannot declare: where the recipes live, and WaveNet's compiled loop.

The recipes sit in the repository's top-level ``recipes/`` folder (one short
script per model and dataset) but install as ``wavegen.recipes``: a package of
the generic name ``recipes`` would clash with any other in a user's environment.

The one compiled part of wavegen is WaveNet's fused CPU sampling loop: plain C
(no Python or torch headers) loaded through ctypes and built for the installing
machine's CPU (-march=native). Without a C compiler the install still succeeds,
and ``--path fused`` on the CPU explains how to get the kernel.
"""

from setuptools import Extension, find_packages, setup

RECIPES = ["wavegen.recipes"] + [f"wavegen.recipes.{name}" for name in find_packages("recipes")]

setup(
    packages=find_packages(include=["wavegen", "wavegen.*"]) + RECIPES,
    package_dir={"wavegen.recipes": "recipes"},
    ext_modules=[Extension(
        "wavegen.audio.wavenet.kernels._wavenet_cpu",
        sources=["wavegen/audio/wavenet/kernels/wavenet_cpu.c"],
        extra_compile_args=["-O3", "-march=native", "-ffast-math", "-pthread"],
        extra_link_args=["-pthread", "-lm"],
        optional=True,
    )],
)
