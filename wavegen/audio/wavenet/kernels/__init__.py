"""Fused WaveNet sampling loops: one call runs every layer and time step.

``packing.py`` lays the weights out once for both kernels; ``cpu.py`` is the
Numba-compiled CPU loop; ``gpu.py`` is the persistent Triton kernel. The plain
PyTorch reference they are checked against is ``WaveNet.reference_step``.
"""
