"""The experiment loop: a planned run's code, written by the model, checked, run in the sandbox and repaired.

See docs/architecture.md ("Experiment loop") for the map of this folder.
"""
