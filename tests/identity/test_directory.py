"""The reference directory: result codes 00/01/02, retries, Carte Vitale, its HTTP API
(authenticated, rate-limited, audited) and the synthetic population."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from esante.core.audit import Actor, AuditEvent
from esante.core.settings import Settings, get_settings
from esante.identity import directory, nir, population
from esante.identity.directory import CardQuery, TraitQuery
from esante.identity.models import FormerMatricule, ReferencePerson
from tests.identity.conftest import PARENT

ACTOR = Actor(user_id=None, label="test")


def _audits(db) -> int:
    return db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == directory.AUDIT_ACTION)) or 0


def test_codes_00_01_02(db, ref):
    found = directory.search_traits(db, ACTOR, TraitQuery("MARTIN", ["JEANNE"], "F", "1980-05-12"))
    assert found.code == "00" and found.persons[0].matricule == ref.jeanne.matricule
    assert [f.matricule[:1] for f in found.formers[ref.jeanne.id]] == ["8"]  # a former NIA
    none = directory.search_traits(db, ACTOR, TraitQuery("MARTIN", ["JEANNE"], "F", "1980-05-13"))
    assert none.code == "01" and none.persons == []
    several = directory.search_traits(db, ACTOR, TraitQuery("BERNARD", ["PAUL"], "M",
                                                            "1970-01-01"))
    assert several.code == "02" and len(several.persons) == 2
    assert _audits(db) == 3


def test_retries_each_first_name_then_the_birth_place(db, ref):
    # all first names: 00 at once
    answer = directory.search_with_retries(db, ACTOR, TraitQuery(
        "PETIT", ["LUC", "HENRI"], "M", "1990-02-02"))
    assert answer.code == "00" and answer.persons[0].id == ref.luc_henri.id
    # homonyms born the same day: 02, one first name only, then the place settles it
    answer = directory.search_with_retries(db, ACTOR, TraitQuery(
        "BERNARD", ["PAUL"], "M", "1970-01-01", "33063"))
    assert answer.code == "00" and answer.persons[0].id == ref.paul_bordeaux.id
    assert len(answer.tries) == 2 and "lieu de naissance 33063" in answer.tries[1]
    # twins: same place, first names differ only in the first one
    answer = directory.search_with_retries(db, ACTOR, TraitQuery(
        "DURAND", ["ANNE"], "F", "2015-03-03", "69123"))
    assert answer.code == "02"


def test_each_first_name_alone_before_the_place(db, ref):
    from tests.identity.conftest import person

    person(db, "ROUX", "ANNE MARIE", "F", "1950-07-07", "35238", 1)
    rennes_born = person(db, "ROUX", "ANNE MARIE", "F", "1950-07-07", "29019", 2)
    answer = directory.search_with_retries(db, ACTOR, TraitQuery(
        "ROUX", ["ANNE", "MARIE"], "F", "1950-07-07", "29019"))
    assert answer.code == "00" and answer.persons[0].id == rennes_born.id
    assert [t.split(" : ")[0] for t in answer.tries] == [
        "prénoms « ANNE MARIE »", "prénom « ANNE » seul", "prénom « MARIE » seul",
        "avec le lieu de naissance 29019"]
    # no retry on 01
    none = directory.search_with_retries(db, ACTOR, TraitQuery(
        "PETIT", ["MARC", "LUC"], "M", "1990-02-02"))
    assert none.code == "01" and len(none.tries) == 1


def test_carte_vitale_twins_on_a_parents_card(db, ref):
    both = directory.search_card(db, ACTOR, CardQuery(PARENT, "DURAND", "", "2015-03-03"))
    assert both.code == "02"
    one = directory.search_card(db, ACTOR, CardQuery(PARENT, "DURAND", "LOUISE", "2015-03-03"))
    assert one.code == "00" and one.persons[0].id == ref.twin_louise.id
    adult = directory.search_card(db, ACTOR, CardQuery(ref.jeanne.matricule, "", "",
                                                       "1980-05-12"))
    assert adult.code == "00"


def test_api_needs_a_desk_token_and_is_audited(client, personas, db, ref):
    body = {"birth_name": "Martin", "first_names": ["Jeanne"], "sex": "F",
            "birth_date": "1980-05-12"}
    assert client.post("/api/identity/directory/traits", json=body).status_code == 401
    denied = client.post("/api/identity/directory/traits", json=body,
                         headers=personas.auth("doctor"))
    assert denied.status_code == 403 and _audits(db) == 0
    r = client.post("/api/identity/directory/traits", json=body, headers=personas.auth("clerk_a"))
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["code"] == "00" and out["persons"][0]["matricule"] == ref.jeanne.matricule
    assert out["persons"][0]["former_matricules"][0]["oid"] == directory.OID_NIA
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == directory.AUDIT_ACTION)).one()
    assert event.actor_id == personas.users["clerk_a"].id
    assert "MARTIN" not in str(event.details) and event.details["result"] == "00"
    card = client.post("/api/identity/directory/carte-vitale", headers=personas.auth("idv_a"),
                       json={"holder_nir": PARENT, "birth_name": "Durand", "first_name": "Léa",
                             "birth_date": "2015-03-03"})
    assert card.json()["code"] == "00", card.text


def test_api_bad_input(client, personas, ref):
    r = client.post("/api/identity/directory/carte-vitale", headers=personas.auth("clerk_a"),
                    json={"holder_nir": PARENT[:13] + "00", "birth_date": "2015-03-03"})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert f"clé attendue {PARENT[13:]}, reçue 00" in r.text
    r = client.post("/api/identity/directory/traits", headers=personas.auth("clerk_a"),
                    json={"birth_name": "Mart1n", "first_names": ["Jeanne"], "sex": "F",
                          "birth_date": "1980-05-12"})
    assert r.status_code == 422 and "caractère « 1 » non autorisé" in r.json()["detail"]


@pytest.fixture
def rate_of_two(monkeypatch):
    """The rate limit set through its setting, as an operator would."""
    monkeypatch.setenv("ESANTE_IDENTITY_DIRECTORY_RATE_PER_MINUTE", "2")
    get_settings.cache_clear()
    yield
    monkeypatch.delenv("ESANTE_IDENTITY_DIRECTORY_RATE_PER_MINUTE")
    get_settings.cache_clear()


def test_rate_limit_setting_is_checked():
    assert Settings().identity_directory_rate_per_minute == 300
    with pytest.raises(ValidationError, match="greater than or equal to 1"):
        Settings(identity_directory_rate_per_minute=0)


def test_rate_limit(client, personas, db, ref, rate_of_two):
    body = {"birth_name": "MARTIN", "first_names": ["JEANNE"], "sex": "F",
            "birth_date": "1980-05-12"}
    for _ in range(2):
        assert client.post("/api/identity/directory/traits", json=body,
                           headers=personas.auth("clerk_a")).status_code == 200
    r = client.post("/api/identity/directory/traits", json=body, headers=personas.auth("clerk_a"))
    assert r.status_code == 429 and "2 par minute" in r.json()["detail"]
    assert _audits(db) == 2  # the refused call wrote nothing
    other = client.post("/api/identity/directory/traits", json=body,
                        headers=personas.auth("idv_a"))
    assert other.status_code == 200  # per account


def test_synthetic_population(db):
    added = population.seed(db, people=3000, rng_seed=7)
    assert added == 3000
    rows = db.scalars(select(ReferencePerson)).all()
    assert len(rows) == 3000 and len({r.matricule for r in rows}) == 3000
    assert all(nir.check(r.matricule).valid for r in rows[:500])
    same_day = {}
    for r in rows:
        same_day.setdefault((r.birth_name, r.birth_date), []).append(r)
    groups = [g for g in same_day.values() if len(g) > 1]
    twins = [g for g in groups if g[0].birth_place == g[1].birth_place
             and g[0].card_holder == g[1].card_holder]
    homonyms = [g for g in groups if g[0].first_names == g[1].first_names
                and g[0].birth_place != g[1].birth_place]
    assert twins and homonyms
    assert any(r.birth_place.startswith("99") for r in rows)
    assert any(r.card_holder != r.matricule for r in rows)  # children on a parent's card
    assert db.scalar(select(func.count()).select_from(FormerMatricule))


def test_a_directory_matricule_with_a_bad_key_is_returned_and_flagged(client, personas, db):
    from esante.identity.models import ReferencePerson as Person

    db.add(Person(matricule="279035121518900", oid=directory.OID_NIR, birth_name="TESTINS",
                  first_names="PERSONA", sex="F", birth_date="1979-03-04", birth_place="51215",
                  card_holder="279035121518900"))
    db.flush()
    r = client.post("/api/identity/directory/traits", headers=personas.auth("clerk_a"),
                    json={"birth_name": "Testins", "first_names": ["Persona"], "sex": "F",
                          "birth_date": "1979-03-04"})
    person = r.json()["persons"][0]
    assert person["matricule"] == "279035121518900"
    assert person["key_warning"] == "clé attendue 89, reçue 00"
