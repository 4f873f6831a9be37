"""evgate config."""
