"""The extraction pipeline: pseudonyms, generalisation, measured re-identification risk."""
