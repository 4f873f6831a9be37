"""Command groups of the evgate CLI."""
