"""esante — plateforme ouverte du virage numérique en santé."""

__version__ = "0.1.0"
