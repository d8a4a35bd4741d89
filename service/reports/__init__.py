"""述统亮评: a period's figures for a place, a party branch or a department, and the
league table that sets their parts side by side. Read through the reports connection."""
