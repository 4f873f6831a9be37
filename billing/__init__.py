"""evgate billing."""
