"""Checks of generated code before it runs: each finds a problem or nothing."""
