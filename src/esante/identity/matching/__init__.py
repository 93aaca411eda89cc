"""Probabilistic record linkage of French identities (Fellegi-Sunter family)."""
