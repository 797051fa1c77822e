"""Experiment templates: loading (ours and The AI Scientist's folder contract) and checking."""
