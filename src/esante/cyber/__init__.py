"""Cyber-vigilance of health establishments ("Tous cybervigilants")."""
