"""Simulated peer review and its calibration against real conference decisions."""
