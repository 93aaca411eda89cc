"""RNIV trait normalisation; directory traits are never altered."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from esante.core.errors import Invalid
from esante.identity.traits import (
    Traits,
    normalise,
    normalise_first_names,
    normalise_name,
    parse_birth_date,
)


@pytest.mark.parametrize(("raw", "expected"), [
    ("Lefèvre", "LEFEVRE"),
    ("  d’Alembert ", "D'ALEMBERT"),
    ("Noël  -  Chassériau", "NOEL-CHASSERIAU"),
    ("Œuvray", "OEUVRAY"),
    ("de la  Tour", "DE LA TOUR"),
    ("François", "FRANCOIS"),
])
def test_names(raw, expected):
    assert normalise_name(raw) == expected


def test_first_names_list_keeps_compound_names():
    assert normalise_first_names(["Pierre-Alain", "Jérôme"]) == ["PIERRE-ALAIN", "JEROME"]
    assert normalise_first_names("Marie-Hélène  Zoé") == ["MARIE-HELENE", "ZOE"]


@pytest.mark.parametrize("raw", ["Dupont3", "Du_pont", "Dupont!", "李"])
def test_characters_outside_the_set_are_refused_with_their_position(raw):
    with pytest.raises(Invalid, match=r"caractère « .+ » non autorisé \(position \d+\)"):
        normalise_name(raw)


def test_used_name_kept_apart_from_birth_name():
    t = normalise(Traits("Dupont", ["Émilie"], "f", "1980-05-12", "75056", used_name="Martin",
                         used_first_name="Milie"))
    assert (t.birth_name, t.used_name, t.first_names, t.used_first_name, t.sex) == \
        ("DUPONT", "MARTIN", ["EMILIE"], "MILIE", "F")


def test_directory_traits_are_never_altered():
    raw = Traits("de Saint-Exupéry", ["Antoine"], "M", "1900-06-29", "69123")
    assert normalise(raw, from_directory=True) is raw


@pytest.mark.parametrize(("value", "ok"), [
    ("1980-05-12", True), ("1980-05-00", True), ("1980-00-00", True), ("1980-00-12", False),
    ("1980-02-30", False), ("12/05/1980", False), ("2999-01-01", False), ("1850-01-01", False),
])
def test_birth_dates(value, ok):
    if ok:
        assert parse_birth_date(value) == value
    else:
        with pytest.raises(Invalid):
            parse_birth_date(value)


names = st.text(alphabet=st.sampled_from(list("abcdefghijklmnopqrstuvwxyzéèêëàâäîïôöùûüçœæ"
                                              "ABCDEÉÈÇ -'’")), max_size=40)


@given(names)
def test_normalised_names_use_only_the_allowed_set_and_are_stable(raw):
    out = normalise_name(raw)
    assert re.fullmatch(r"[A-Z' -]*", out)
    assert not out.startswith((" ", "-", "'")) and not out.endswith((" ", "-", "'"))
    assert "  " not in out
    assert normalise_name(out) == out  # idempotent


@given(names)
def test_normalisation_keeps_every_letter(raw):
    letters = [c for c in normalise_name(raw) if c.isalpha()]
    assert len(letters) >= sum(1 for c in raw if c.isalpha())
