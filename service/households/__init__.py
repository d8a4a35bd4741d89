"""The household register (户) and visits to households (走访)."""
