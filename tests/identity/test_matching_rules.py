"""The comparison rules of the duplicate engine, one by one, through ``score_pair``."""

from __future__ import annotations

from typing import Any

import duckdb
import pytest

from esante.identity.matching import blocking_keys, score_pair
from esante.identity.matching.internals.normalise import normalise_name, phonetic_key
from esante.identity.matching.internals.prepare import normalise_sql
from esante.identity.matching.synthetic import nir_key

BASE: dict[str, Any] = {"birth_name": "DUPONT", "used_name": "", "first_names": "Marie Claire",
                        "sex": "F", "birth_date": "1985-03-04", "birth_place": "75056", "nir": ""}


def nir(sex: str, year_month: str, place: str, order: str) -> str:
    first13 = f"{sex}{year_month}{place}{order}"
    return first13 + nir_key(first13)


def with_(**changes: Any) -> dict[str, Any]:
    return {**BASE, **changes}


def test_same_record_typed_twice_matches() -> None:
    assert score_pair(BASE, with_(birth_name="Dupont", first_names="MARIE CLAIRE")) > 0.99


def test_accents_hyphens_and_case_do_not_count() -> None:
    a = with_(birth_name="Le Gall-Hervé", first_names="Jean-Pierre")
    b = with_(birth_name="LE GALL HERVE", first_names="JEANPIERRE")
    assert score_pair(a, b) > 0.99


def test_day_month_swap_is_matched() -> None:
    swapped = with_(birth_date="1985-04-03")
    assert score_pair(BASE, swapped) > 0.9
    # the same names born a month and a day apart, without the swap, are much less likely
    assert score_pair(BASE, swapped) > score_pair(BASE, with_(birth_date="1985-05-07"))


def test_french_date_format_is_read() -> None:
    assert score_pair(BASE, with_(birth_date="04/03/1985")) > 0.99


def test_used_name_typed_as_birth_name_is_matched() -> None:
    married = with_(used_name="MARTIN")
    typed = with_(birth_name="MARTIN", used_name="")
    assert score_pair(married, typed) > 0.9
    assert score_pair(married, typed) > score_pair(married, with_(birth_name="BERNARDI"))


def test_compound_and_missing_first_names_are_matched() -> None:
    assert score_pair(BASE, with_(first_names="Marie")) > 0.9
    assert score_pair(BASE, with_(first_names="Claire Marie")) > 0.9


def test_twins_are_not_merged() -> None:
    """Same birth date, family name and place, first names with nothing in common."""
    twin = with_(first_names="Sophie")
    assert score_pair(BASE, twin) < 0.01


def test_two_reliable_different_nirs_are_two_people() -> None:
    a = with_(nir=nir("2", "8503", "75056", "123"), first_names="Marie")
    b = with_(nir=nir("2", "8503", "75056", "124"), first_names="Marie")
    assert score_pair(a, b) < 0.01
    assert score_pair(a, {**b, "nir": ""}) > 0.9


def test_same_nir_with_a_wrong_key_still_agrees() -> None:
    good = nir("2", "8503", "75056", "123")
    wrong = good[:13] + f"{(int(good[13:]) + 1) % 97:02d}"
    a = with_(nir=good, birth_place="", first_names="", birth_name="DUPOND")
    assert score_pair(a, with_(nir=wrong, birth_place="")) > score_pair(a, with_(birth_place=""))


def test_a_siblings_nir_does_not_merge_siblings() -> None:
    """A record carrying a brother's NIR: the NIR agrees but contradicts the record's own
    birth date, and the other traits differ: not a match."""
    brother_nir = nir("1", "8211", "75056", "045")
    brother = {**BASE, "first_names": "Paul", "sex": "M", "birth_date": "1982-11-20", "nir": brother_nir}
    sister_with_his_nir = with_(nir=brother_nir)
    assert score_pair(brother, sister_with_his_nir) < 0.01


def test_nir_agreement_outweighs_a_birth_name_change() -> None:
    number = nir("2", "8503", "75056", "123")
    assert score_pair(with_(nir=number), with_(nir=number, birth_name="MARTIN", birth_place="")) > 0.99


def test_different_people_do_not_match() -> None:
    other = {"birth_name": "BERNARD", "used_name": "", "first_names": "Luc", "sex": "M",
             "birth_date": "1990-07-12", "birth_place": "69123", "nir": ""}
    assert score_pair(BASE, other) < 0.001


def test_homonym_born_elsewhere_with_different_nir_is_not_merged() -> None:
    a = with_(nir=nir("2", "8503", "75056", "123"))
    b = with_(birth_place="13055", nir=nir("2", "8503", "13055", "311"))
    assert score_pair(a, b) < 0.01


def test_blocking_keys_meet_on_nir_date_and_phonetic_codes() -> None:
    keys = blocking_keys(with_(nir=nir("2", "8503", "75056", "123")))
    assert {k.split(":")[0] for k in keys} == {"nir", "date_prenom", "date_lieu", "date_nom",
                                               "noms_annee", "noms_lieu"}
    # a spelling variant and a used name share keys with the original
    assert set(blocking_keys(with_(birth_name="DUPOND"))) & set(keys)
    assert set(blocking_keys(with_(birth_name="MARTIN", used_name="", first_names="Marie"))) & set(
        blocking_keys(with_(used_name="MARTIN")))


@pytest.mark.parametrize(("a", "b"), [("FRANCOIS", "FRANÇOIS"), ("THIBAULT", "TIBAUT"),
                                      ("PHILIPPE", "FILIPE"), ("GAUTHIER", "GAUTIER"),
                                      ("RENAUD", "RENAULT"), ("MATHIEU", "MATTHIEU")])
def test_phonetic_key_knows_french_spellings(a: str, b: str) -> None:
    assert phonetic_key(a) == phonetic_key(b)


@pytest.mark.parametrize(("a", "b"), [("MARTIN", "MARTINEZ"), ("BERNARD", "BERTRAND"), ("LUC", "LUCIE")])
def test_phonetic_key_separates_different_names(a: str, b: str) -> None:
    assert phonetic_key(a) != phonetic_key(b)


@pytest.mark.parametrize("value", ["Le Gall-Hervé", "  d'Estaing ", "ŒUVRARD", "Noël", "Müller", "José-María",
                                   "Ærø", "Straße", "O'Neil--Smith", "ÇA", "", "1234"])
def test_sql_normalisation_is_the_python_one(value: str) -> None:
    with duckdb.connect() as con:
        (sql,) = con.execute(f"SELECT {normalise_sql('?')}", [value]).fetchone()  # type: ignore[misc]
    assert (sql or "") == normalise_name(value)
