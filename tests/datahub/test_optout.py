"""The opt-out register: recorded and withdrawn by the citizen, never the NIR in clear,
looked up by the pipeline at extraction time with the count audited."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select

from esante.core.accounts import service as accounts
from esante.core.audit import Actor, AuditEvent
from esante.core.errors import Conflict, Forbidden, Invalid, NotFound
from esante.datahub import optout
from esante.datahub.models import OptOut
from tests.datahub.factories import NIR, principal, synth_dir


def rows(db) -> list[OptOut]:  # type: ignore[no-untyped-def]
    return list(db.scalars(select(OptOut)))


def test_recorded_as_a_keyed_hash(db, personas) -> None:
    row = optout.record(db, principal(personas, "citizen"), nir=f" {NIR[:5]} {NIR[5:]} ")
    assert len(row.digest) == 64 and NIR not in row.digest
    assert row.digest == optout.digest("nir", NIR)
    assert row.digest != optout.digest("nir", NIR, key=b"another key")  # keyed
    for value in vars(row).values():
        assert NIR not in str(value)
    ev = db.scalar(select(AuditEvent).where(AuditEvent.action == "datahub.optout.record"))
    assert ev is not None and NIR not in str(ev.details)
    assert ev.subject_user_id == personas.users["citizen"].id


def test_lookup_at_extraction_time(db, personas) -> None:
    citizen = principal(personas, "citizen")
    actor = Actor.system("pipeline")
    assert optout.opted_out_ids(db, actor=actor, nirs=[NIR, "180017512345628"]) == set()
    row = optout.record(db, citizen, nir=NIR)
    assert optout.opted_out_ids(db, actor=actor, nirs=[NIR, "180017512345628"],
                                project_id=7) == {NIR}
    assert optout.count_active(db) == 1
    optout.withdraw(db, citizen, row.id)
    assert optout.opted_out_ids(db, actor=actor, nirs=[NIR]) == set()
    assert optout.count_active(db) == 0
    optout.record(db, citizen, nir=NIR)  # objecting again after a withdrawal
    assert optout.opted_out_ids(db, actor=actor, nirs=[NIR]) == {NIR}
    assert len(rows(db)) == 1
    lookups = list(db.scalars(select(AuditEvent).where(
        AuditEvent.action == "datahub.optout.lookup").order_by(AuditEvent.id)))
    assert [e.details["opted_out"] for e in lookups] == [0, 1, 0, 1]
    assert lookups[1].object_id == "7"


def test_people_file_lookup(db, personas) -> None:
    people = pq.read_table(synth_dir() / "people.parquet").slice(10, 3).to_pylist()
    citizen = principal(personas, "citizen")
    for person in people[:2]:
        optout.record(db, citizen, nir=person["nir"])
    found = optout.opted_out_person_ids(db, actor=Actor.system("pipeline"),
                                        people=synth_dir() / "people.parquet", batch=700)
    assert found == {people[0]["person_id"], people[1]["person_id"]}


@pytest.mark.parametrize(("nir", "message"), [
    ("27903512151898", "15 caractères attendus"),
    ("279035121518988", "la clé ne correspond pas"),
    ("27903512151898X", "chiffres attendus"),
    ("579035121518910", "le premier chiffre (sexe)"),
])
def test_bad_nir_is_refused(db, personas, nir, message) -> None:
    if message.startswith("le premier"):
        nir = nir[:13] + f"{97 - int(nir[:13]) % 97:02d}"  # a valid key, a wrong sex digit
    with pytest.raises(Invalid) as exc:
        optout.record(db, principal(personas, "citizen"), nir=nir)
    assert message in exc.value.fr
    assert rows(db) == []


def test_duplicates_and_other_peoples_objections(db, personas) -> None:
    from esante.core.policy import Principal

    citizen = principal(personas, "citizen")
    row = optout.record(db, citizen, nir=NIR)
    with pytest.raises(Conflict, match="vous avez déjà enregistré"):
        optout.record(db, citizen, nir=NIR)
    other_user = accounts.create_user(db, actor=Actor.system("tests"),
                                      email="autre@test.esante.fr",
                                      password="correct-horse-battery-staple-43",
                                      display_name="Autre")
    accounts.grant_role(db, actor=Actor.system("tests"), user=other_user, role="citizen",
                        scope_kind="self", scope_ref="")
    db.refresh(other_user)
    other = Principal.of(other_user)
    with pytest.raises(NotFound):
        optout.withdraw(db, other, row.id)
    assert optout.list_mine(db, other) == []
    # someone else typing the same number learns nothing: their own objection is recorded
    theirs = optout.record(db, other, nir=NIR)
    assert theirs.id != row.id and optout.count_active(db) == 1
    optout.withdraw(db, other, theirs.id)
    assert optout.opted_out_ids(db, actor=Actor.system("p"), nirs=[NIR]) == {NIR}
    with pytest.raises(Forbidden):
        optout.record(db, principal(personas, "researcher"), nir=NIR)
    optout.withdraw(db, citizen, row.id)
    with pytest.raises(Conflict, match="déjà retirée"):
        optout.withdraw(db, citizen, row.id)
    assert optout.opted_out_ids(db, actor=Actor.system("p"), nirs=[NIR]) == set()


def test_api(client, personas, db) -> None:
    auth = personas.auth("citizen")
    r = client.post("/api/datahub/opt-outs", json={"nir": NIR}, headers=auth)
    assert r.status_code == 201, r.text
    assert r.json()["active"] is True and "nir" not in r.json()
    oid = r.json()["id"]
    assert client.get("/api/datahub/opt-outs", headers=auth).json()[0]["id"] == oid
    count = client.get("/api/datahub/opt-outs/count", headers=personas.auth("hub_reviewer"))
    assert count.json() == {"active": 1}
    r = client.post("/api/datahub/opt-outs", json={"nir": "123"}, headers=auth)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "NIR invalide" in r.json()["detail"]
    r = client.post(f"/api/datahub/opt-outs/{oid}/withdraw", headers=auth)
    assert r.status_code == 200 and r.json()["active"] is False
    assert db.scalar(select(func.count()).select_from(OptOut)) == 1


def test_page(client, personas, db) -> None:
    from tests.core.test_auth import csrf_of, login

    login(client, personas, "citizen")
    page = client.get("/donnees-de-sante/opposition")
    assert page.status_code == 200 and "Aucune opposition" in page.text
    r = client.post("/donnees-de-sante/opposition", data={
        "csrf_token": csrf_of(page.text), "action": "record", "nir": "279035121518900"},
        follow_redirects=True)
    assert "NIR invalide : la clé ne correspond pas au numéro" in r.text
    assert rows(db) == []
    r = client.post("/donnees-de-sante/opposition", data={
        "csrf_token": csrf_of(page.text), "action": "record", "nir": NIR}, follow_redirects=True)
    assert "Votre opposition est enregistrée" in r.text
    oid = rows(db)[0].id
    r = client.post("/donnees-de-sante/opposition", data={
        "csrf_token": csrf_of(page.text), "action": "withdraw", "opt_out_id": str(oid)},
        follow_redirects=True)
    assert "Votre opposition est retirée" in r.text and "retirée le" in r.text
    assert rows(db)[0].withdrawn_at is not None
