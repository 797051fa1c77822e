"""The model layer: one gateway for every call, and the embedded local model."""
