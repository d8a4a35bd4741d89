"""服务星级与徽章: a member's level and badges, worked out from their verified service
records whenever they are read (nothing is stored that could drift from the records)."""
