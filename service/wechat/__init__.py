"""The WeChat mini-program server API: sign-in (jscode2session), phone numbers, access token."""
