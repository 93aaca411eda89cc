"""Guardians of a minor's space: recorded by an agent with its proof (API and CLI), they
reach the minor's record through the FHIR access layer (reads and searches) and her space
(audited); bad input changes nothing; at 18 the hand-over ends every guardianship."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from unittest import mock

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from esante.cli import app
from esante.core.audit import Actor, AuditEvent
from esante.space import guardians, service
from esante.space.models import Guardianship
from tests.fhir.conftest import observation_body
from tests.space.conftest import second_factor

API = "/api/space"
MINOR_INS = "190017512345655"
BORN = "2015-06-01"


@pytest.fixture
def minor(make_patient, db) -> str:  # type: ignore[no-untyped-def]
    pid = make_patient(holder=None, family="Petit", given="Léa", ins=MINOR_INS, birth=BORN)
    service.provision(db, patient_fid=pid, actor=Actor.system("tests"))
    return str(pid)


def _add(client, personas, pid: str, **over) -> object:  # type: ignore[no-untyped-def]
    body = {"patient": pid, "email": personas.users["citizen"].email,
            "proof": "livret de famille", "since": "2015-06-01"} | over
    return client.post(f"{API}/guardians", json=body, headers=personas.auth("admin"))


def _count(db, action: str) -> int:  # type: ignore[no-untyped-def]
    return int(db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == action)) or 0)


def test_guardian_reaches_the_minor_record_and_space(client, personas, fhir, minor, db) -> None:
    r = fhir("doctor", "POST", "/Observation", observation_body(minor))
    assert r.status_code == 201, r.text
    obs = r.json()["id"]
    # Before: the citizen reaches nothing of the minor's record.
    assert fhir("citizen", "GET", f"/Observation/{obs}").status_code == 403
    assert fhir("citizen", "GET", f"/Observation?patient={minor}").json()["total"] == 0
    assert client.get(f"{API}/minors/{minor}", headers=personas.auth("citizen")).status_code == 403

    r = _add(client, personas, minor)
    assert r.status_code == 201, r.text
    assert _count(db, "space.guardian-add") == 1
    # Read (one query with its facts) and search (the SQL filter) both let her in.
    assert fhir("citizen", "GET", f"/Observation/{obs}").status_code == 200
    assert fhir("citizen", "GET", f"/Patient/{minor}").status_code == 200
    assert fhir("citizen", "GET", f"/Observation?patient={minor}").json()["total"] == 1
    # Another account still reaches nothing.
    assert fhir("other_doctor", "GET", f"/Observation/{obs}").status_code == 403

    # Her space of the minor: behind the second factor, then audited.
    r = client.get(f"{API}/minors/{minor}", headers=personas.auth("citizen"))
    assert r.status_code == 403 and r.json()["code"] == "second-factor-required"
    second_factor(db, personas)
    listed = client.get(f"{API}/minors", headers=personas.auth("citizen")).json()
    assert [s["patient"] for s in listed] == [f"Patient/{minor}"]
    r = client.get(f"{API}/minors/{minor}", headers=personas.auth("citizen"))
    assert r.status_code == 200, r.text
    assert [g["email"] for g in r.json()["guardians"]] == [personas.users["citizen"].email]
    r = client.get(f"{API}/minors/{minor}/documents", headers=personas.auth("citizen"))
    assert r.status_code == 200 and r.json() == []
    assert _count(db, "space.guardian-access") == 2

    # Removed: the access ends at once.
    gid = db.scalar(select(Guardianship.id))
    r = client.post(f"{API}/guardians/{gid}/remove", headers=personas.auth("admin"))
    assert r.status_code == 200 and r.json()["end_reason"] == "removed"
    assert fhir("citizen", "GET", f"/Observation/{obs}").status_code == 403
    assert fhir("citizen", "GET", f"/Observation?patient={minor}").json()["total"] == 0
    assert client.get(f"{API}/minors/{minor}", headers=personas.auth("citizen")).status_code == 403


def test_bad_guardian_records_change_nothing(client, personas, make_patient, minor, db) -> None:
    adult = make_patient(holder=None, family="Grand", ins="279035121518989")
    service.provision(db, patient_fid=adult, actor=Actor.system("tests"))
    cases = [
        ({"patient": adult}, 409, "majeur"),
        ({"proof": "  "}, 422, "pièce justificative"),
        ({"since": "2099-01-01"}, 422, "futur"),
        ({"email": "personne@example.org"}, 404, "aucun compte citoyen"),
        ({"email": personas.users["doctor"].email}, 404, "aucun compte citoyen"),
        ({"patient": "inconnu"}, 404, "aucun espace"),
    ]
    for over, status, words in cases:
        r = _add(client, personas, minor, **over)
        assert r.status_code == status, (over, r.text)
        assert words in r.json()["detail"], r.json()
    assert db.scalar(select(func.count()).select_from(Guardianship)) == 0
    assert _add(client, personas, minor).status_code == 201
    r = _add(client, personas, minor)
    assert r.status_code == 409 and "déjà tuteur" in r.json()["detail"]
    assert db.scalar(select(func.count()).select_from(Guardianship)) == 1
    # Only an agent records a guardian.
    r = client.post(f"{API}/guardians", json={"patient": minor, "email": "x@example.org",
                                              "proof": "p", "since": "2020-01-01"},
                    headers=personas.auth("citizen"))
    assert r.status_code == 403


def test_hand_over_at_eighteen_ends_the_guardianships(client, personas, fhir, minor, db) -> None:
    assert _add(client, personas, minor).status_code == 201
    assert fhir("citizen", "GET", f"/Patient/{minor}").status_code == 200
    assert guardians.hand_over(db, actor=Actor.system("tests"), today=date(2033, 5, 31)) == []
    assert fhir("citizen", "GET", f"/Patient/{minor}").status_code == 200
    ended = guardians.hand_over(db, actor=Actor.system("tests"), today=date(2033, 6, 1))
    assert [e["patient"] for e in ended] == [minor]
    assert _count(db, "space.guardian-majority") == 1
    assert fhir("citizen", "GET", f"/Patient/{minor}").status_code == 403
    second_factor(db, personas)
    assert client.get(f"{API}/minors", headers=personas.auth("citizen")).json() == []


@contextmanager
def _cli_session(db) -> Iterator[object]:  # type: ignore[no-untyped-def]
    @contextmanager
    def transaction() -> Iterator[object]:
        yield db
        db.flush()

    with mock.patch("esante.core.db.transaction", transaction):
        yield


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["space", *args], env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_cli_records_and_ends_a_guardianship(personas, minor, db) -> None:
    email = personas.users["citizen"].email
    with _cli_session(db):
        code, out = _cli("guardian", "add", "--patient", minor, "--user", email,
                         "--proof", "jugement de tutelle", "--since", "2020-02-03")
        assert code == 0, out
        assert "Tutelle n°" in out
        g = db.scalar(select(Guardianship))
        assert g is not None and g.proof == "jugement de tutelle" and g.since == date(2020, 2, 3)
        code, out = _cli("guardian", "add", "--patient", minor, "--user", email,
                         "--proof", "x", "--since", "03/02/2020")
        assert code != 0 and "AAAA-MM-JJ" in out
        code, out = _cli("guardian", "add", "--patient", minor, "--user", email,
                         "--proof", "x", "--since", "2020-02-03")
        assert code != 0 and "déjà tuteur" in out
        code, out = _cli("handover")
        assert code == 0 and "0 tutelle(s) terminée(s)" in out
        code, out = _cli("guardian", "remove", "--patient", minor, "--user", email)
        assert code == 0, out
        assert g.ended_at is not None and g.end_reason == "removed"
        code, out = _cli("guardian", "remove", "--patient", minor, "--user", email)
        assert code != 0 and "pas tuteur" in out
