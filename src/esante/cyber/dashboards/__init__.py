"""Cyber-vigilance dashboards: national, regional and per-establishment figures."""
