"""Identity: the national health identifier (INS), the RNIV statuses, identity vigilance."""
