"""Resident demands and problem reports (居民诉求 / 问题上报)."""
