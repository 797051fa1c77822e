"""scientist: an offline-first automated research pipeline."""

__version__ = "0.1.0"
