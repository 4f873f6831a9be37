"""evgate simulators."""
