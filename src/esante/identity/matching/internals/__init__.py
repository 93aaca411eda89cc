"""The machinery of identity matching; the public names are in ``esante.identity.matching``."""
