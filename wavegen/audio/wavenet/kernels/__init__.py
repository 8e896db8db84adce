"""Fused WaveNet sampling loops: one call runs every layer and time step.

``packing.py`` lays the weights out once for both kernels; ``wavenet_cpu.c``
is the CPU loop in C (built by setup.py, called through ctypes by ``cpu.py``);
``gpu.py`` is the persistent Triton kernel. The plain
PyTorch reference they are checked against is ``WaveNet.reference_step``.
"""
