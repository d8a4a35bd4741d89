"""Government departments, party branches and their pairings with communities."""
