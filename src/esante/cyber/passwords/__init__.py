"""Password hygiene: breached-password ranges (k-anonymity) and the password test page."""
