"""Nightly jobs that tidy what several features leave behind (photos nobody used)."""
