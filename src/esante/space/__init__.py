"""The citizen health space (Mon espace santé): lifecycle, documents, privacy controls and
access history, on top of the FHIR store and the qualified INS."""
