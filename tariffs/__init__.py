"""evgate tariffs."""
