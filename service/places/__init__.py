"""The place tree: district → street → community → … → building → unit, at any depth."""
