"""Host-side drivers that rerun an experiment under an in-box harness program to observe it."""
