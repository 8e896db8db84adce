"""Build step for the one compiled part of wavegen: WaveNet's fused CPU sampling loop.

Everything else is declared in pyproject.toml. The kernel is plain C (no Python
or torch headers) loaded through ctypes; it is built for the installing
machine's CPU (-march=native). Without a C compiler the install still
succeeds, and ``--path fused`` on the CPU explains how to get the kernel.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension(
    "wavegen.audio.wavenet.kernels._wavenet_cpu",
    sources=["wavegen/audio/wavenet/kernels/wavenet_cpu.c"],
    extra_compile_args=["-O3", "-march=native", "-ffast-math", "-pthread"],
    extra_link_args=["-pthread", "-lm"],
    optional=True,
)])
