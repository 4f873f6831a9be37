"""evgate store."""
