"""Search normalisation: the ASCII shortcut and the cache give what the definition gives."""

from __future__ import annotations

import unicodedata

import pytest

from esante.fhir.values import MAX_STR, normalise


def _by_definition(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()[:MAX_STR]


@pytest.mark.parametrize("text", [
    "MARTIN", "Lefèvre", "Müller", "Œuvre", "ﬁlle", "Noël-Éloïse", "D'ARTAGNAN", "Ǆemal",
    "x" * 250, "é" * 250, "", "Saint-Étienne 42000", "①②", "İstanbul",
])
def test_normalise_matches_its_definition(text: str) -> None:
    assert normalise(text) == _by_definition(text)
    assert normalise(text) == _by_definition(text)  # from the cache, the same


def test_accents_and_case_fold_together() -> None:
    assert normalise("Lefèvre") == normalise("LEFEVRE") == "lefevre"
