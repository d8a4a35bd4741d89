"""Use cases and adapters. Never imports the web framework."""
