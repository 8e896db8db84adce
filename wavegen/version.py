"""The version of wavegen, written into every checkpoint header (the package's own version)."""

__version__ = "0.1.0"
