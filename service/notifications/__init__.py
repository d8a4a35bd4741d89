"""Notifications: the outbox's notices become each member's inbox, and — while the
member allowed it — WeChat subscribe messages sent by the worker; reminders and
pruning run on a schedule."""
