"""People: users (members, volunteers, residents, staff) and their role grants."""
