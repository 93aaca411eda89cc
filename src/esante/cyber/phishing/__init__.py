"""Phishing reports: staff upload a suspicious message, the platform parses and matches it
against the shared indicators, answers the reporter, and the officer publishes indicators."""
