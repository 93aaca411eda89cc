"""Mutual aid between establishments: requests and offers, matching, closure."""
