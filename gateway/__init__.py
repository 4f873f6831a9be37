"""evgate gateway."""
