"""One module per graph node. Nodes never import each other; they receive services through the runtime."""
