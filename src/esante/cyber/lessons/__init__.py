"""Lessons learned: anonymised lessons written by the national cell from closed incidents."""
