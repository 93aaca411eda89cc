"""Synthetic French health data for demos, tests and benchmarks."""
