"""Acting for someone (代办): proxy links with consent, and what proxies did."""
