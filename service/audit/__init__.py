"""Who changed what, when, and what it was before: every change of rights and every
decision that moves points, written in the change's own transaction, read by admins."""
