"""Sandboxes for generated code: docker, bubblewrap, and an explicitly unsafe plain process."""
