"""NIR and NIA checks: format, key (Corsica), meaning; property tests of the key."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from esante.identity import nir
from esante.identity.nir import InsMatricule, Nir

KNOWN_TEST_NIR = "279035121518989"  # ansforge/hl7V2-exemples, DOMAIN.md


def test_known_test_nir_is_valid_and_says_what_it_encodes():
    r = nir.check(KNOWN_TEST_NIR)
    assert r.valid, r.errors
    assert (r.kind, r.sex, r.birth_year, r.birth_month) == ("NIR", "F", "79", 3)
    assert r.place_code == "51215" and "51215" in r.place
    assert (r.order, r.key) == ("189", "89")


def test_wrong_key_names_the_expected_one():
    r = nir.check("279035121518900")
    assert r.errors == ["clé attendue 89, reçue 00"]


def test_directory_matricule_with_a_bad_key_is_flagged_not_rejected():
    r = nir.check("279035121518900", from_directory=True)
    assert r.valid and r.warnings == ["clé attendue 89, reçue 00"]


def test_corsica_keys():
    for dept, offset in (("2A", 1_000_000), ("2B", 2_000_000)):
        head = f"18505{dept}004123"
        numeric = int(head.replace(dept, "20")) - offset
        assert nir.key_of(head) == f"{97 - numeric % 97:02d}"
        assert nir.check(head + nir.key_of(head)).valid


def test_corsica_before_1976_uses_20():
    head = "1650520004123"  # born 1965 in Ajaccio, department 20 then
    r = nir.check(head + nir.key_of(head))
    assert r.valid, r.errors
    assert "Ajaccio" in r.place


@pytest.mark.parametrize(("value", "message"), [
    ("27903512151898", "15 caractères attendus, reçu 14"),
    ("27903512151898X", "format invalide"),
    ("579035121518989", "premier chiffre (sexe) 5 inconnu"),
    ("279135121518989", "mois 13 impossible"),
    ("279000000000000", "mois 00 impossible"),
])
def test_bad_values(value, message):
    r = nir.check(value)
    assert r.errors and r.errors[0].startswith(message), r.errors


def _with_key(head: str) -> str:
    return head + nir.key_of(head)


def test_pseudo_months_are_warnings():
    for month in ("20", "42", "50", "99"):
        r = nir.check(_with_key(f"179{month}75056123"))
        assert r.valid, r.errors
        assert r.pseudo_month and "pseudo-mois" in r.warnings[0]
    assert not nir.check(_with_key("17945750561234"[:13])).valid  # 45: neither


def test_places_department_country_commune():
    assert "ALLEMAGNE" in nir.check(_with_key("1790599109123")).place
    unknown_country = nir.check(_with_key("1790599999123"))
    assert unknown_country.errors == ["pays de naissance 99999 inconnu du COG"]
    unknown_dept = nir.check(_with_key("1790500001123"))
    assert unknown_dept.errors == ["département de naissance 00 inconnu du COG"]
    overseas = nir.check(_with_key("1790597411123"))  # Saint-Denis, La Réunion
    assert overseas.valid and "Saint-Denis" in overseas.place
    unknown_commune = nir.check(_with_key("1790575999123"))
    assert unknown_commune.valid and "commune 75999 inconnue" in unknown_commune.warnings[0]


def test_nia_and_temporary_numbers():
    assert nir.check(_with_key("7790575056123")).kind == "NIA"
    temp = nir.check(_with_key("3790575056123"))
    assert temp.kind == "temporaire" and "pas un INS" in temp.warnings[0]


def test_annotated_types_at_the_edge():
    class In(BaseModel):
        ins: InsMatricule
        nir: Nir | None = None

    assert In(ins="2 79 03 51 215 189 89").ins == KNOWN_TEST_NIR
    with pytest.raises(ValidationError, match="clé attendue 89, reçue 00"):
        In(ins="279035121518900")
    with pytest.raises(ValidationError, match="un NIR est attendu, reçu un numéro NIA"):
        In(ins=KNOWN_TEST_NIR, nir=_with_key("7790575056123"))


heads = st.builds(
    lambda sex, yy, mm, place, order: f"{sex}{yy:02d}{mm:02d}{place}{order:03d}",
    st.sampled_from("1278"), st.integers(0, 99), st.integers(1, 12),
    st.sampled_from(["75056", "2A004", "2B033", "69123", "97411", "99109"]),
    st.integers(1, 999))


@given(heads)
def test_key_is_97_minus_the_number_mod_97(head):
    numeric = int(head.replace("2A", "19").replace("2B", "18"))
    key = nir.key_of(head)
    assert key == f"{97 - numeric % 97:02d}"
    assert nir.check(head + key).valid


@given(heads, st.integers(0, 12), st.integers(1, 9))
def test_any_single_digit_change_breaks_the_key(head, position, delta):
    valid = head + nir.key_of(head)
    if not valid[position].isdigit() or position in (5, 6):
        return
    digit = str((int(valid[position]) + delta) % 10)
    changed = valid[:position] + digit + valid[position + 1:]
    assert nir.key_of(changed[:13]) != changed[13:]  # 97 is prime: the key always sees it
    assert not nir.check(changed).valid
