"""The FHIR R4 store and REST API (models and base validation from ``fhir.resources``
R4B, whose resources used here are those of R4; French rules from FR Core on top)."""
