"""Incident declaration, deadlines, national triage, timeline."""
