"""The web view (``scientist serve``): a local dashboard over run folders."""
