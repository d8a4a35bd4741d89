"""Sign-in: WeChat and console passwords, access tokens, rotating refresh tokens."""
