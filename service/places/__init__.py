"""The place tree: district → street → community → grid → building."""
