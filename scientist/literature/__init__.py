"""Literature sources (arXiv, OpenAlex, a local index), one ``Paper`` shape, a cache and circuit breakers."""
