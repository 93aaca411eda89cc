"""Indicator sharing under TLP 2.0: events, indicators, sightings, warning lists, STIX 2.1 /
MISP / CSV exchange, and log matching (``esante cyber match``)."""
