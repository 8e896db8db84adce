"""Audio specialisations of the core families, plus audio I/O, features and metrics."""
