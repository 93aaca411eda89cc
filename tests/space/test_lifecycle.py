"""A space per qualified INS; objection (recorded, reversible); activation with the
letter's code (limited attempts); the second factor; closure after download; purge."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import func, select

from esante.core.audit import Actor, AuditEvent
from esante.core.db import utcnow
from esante.core.errors import Conflict
from esante.fhir.models import FhirResource, FhirVersion, PatientLink
from esante.space import service
from esante.space.models import Space
from tests.fhir.conftest import INS_NIR
from tests.space.conftest import pdf_bytes, second_factor

LETTER = "/api/space"


def test_only_a_qualified_ins_gets_a_space(make_patient, db) -> None:
    pid = make_patient(holder=None, ins=INS_NIR, status="RECUP")
    with pytest.raises(Conflict) as exc:
        service.provision(db, patient_fid=pid, actor=Actor.system("tests"))
    assert "INS qualifié" in exc.value.fr
    qualified = make_patient(holder=None, family="Durand", ins="190017512345655")
    made, skipped = service.provision_all(db, actor=Actor.system("tests"))
    assert [s.patient_fid for s, _ in made] == [qualified]
    assert skipped == 1
    assert made[0][0].status == "pending" and len(made[0][1]) == 14  # XXXX-XXXX-XXXX


def test_objection_is_recorded_and_reversible(client, personas, letter, db) -> None:
    body = {"ins": INS_NIR, "code": letter.code}
    r = client.post(f"{LETTER}/objection", json=body, headers=personas.auth("citizen"))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "objected"
    assert db.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "space.object")) == 1
    r = client.post(f"{LETTER}/objection/withdraw", json=body, headers=personas.auth("citizen"))
    assert r.json()["status"] == "pending"
    # Once the objection period is over, the space is created: no objection any more.
    letter.space.objection_until = utcnow() - timedelta(days=1)
    service.provision_all(db, actor=Actor.system("tests"))
    assert letter.space.status == "open"
    r = client.post(f"{LETTER}/objection", json=body, headers=personas.auth("citizen"))
    assert r.status_code == 409
    assert "période d'opposition" in r.json()["detail"]


def test_wrong_codes_are_counted_then_the_code_is_locked(client, personas, letter, db) -> None:
    for left in (4, 3, 2, 1, 0):
        r = client.post(f"{LETTER}/activate", json={"ins": INS_NIR, "code": "AAAA-BBBB-CCCC"},
                        headers=personas.auth("citizen"))
        assert r.status_code == 422
        assert f"encore {left} essai" in r.json()["detail"]
    r = client.post(f"{LETTER}/activate", json={"ins": INS_NIR, "code": letter.code},
                    headers=personas.auth("citizen"))
    assert r.status_code == 429
    assert "bloqué" in r.json()["detail"]
    db.refresh(letter.space)
    assert letter.space.status == "pending" and letter.space.holder_id is None
    # A new letter: a new code works.
    code = service.new_code(db, letter.space, actor=Actor.system("tests"))
    r = client.post(f"{LETTER}/activate", json={"ins": INS_NIR, "code": code.lower()},
                    headers=personas.auth("citizen"))
    assert r.status_code == 200 and r.json()["status"] == "active"


def test_activation_links_the_holder_and_the_space_needs_a_second_factor(
        client, personas, letter, db) -> None:
    r = client.post(f"{LETTER}/activate", json={"ins": INS_NIR, "code": letter.code},
                    headers=personas.auth("citizen"))
    assert r.status_code == 200, r.text
    assert db.scalar(select(func.count()).select_from(PatientLink).where(
        PatientLink.patient_fid == letter.patient)) == 1
    r = client.get(LETTER, headers=personas.auth("citizen"))
    assert r.status_code == 403
    assert r.json()["code"] == "second-factor-required"
    second_factor(db, personas)
    assert client.get(LETTER, headers=personas.auth("citizen")).json()["status"] == "active"
    # Nobody else reaches it, not even with the same code again.
    for who in ("doctor", "admin", "outsider"):
        assert client.get(LETTER, headers=personas.auth(who)).status_code == 403
    r = client.post(f"{LETTER}/activate", json={"ins": INS_NIR, "code": letter.code},
                    headers=personas.auth("outsider"))
    assert r.status_code == 403


def test_closure_needs_the_download_and_a_confirmation_then_purge_erases(
        client, personas, space, db, fhir) -> None:
    auth = personas.auth("citizen")
    up = client.post(f"{LETTER}/documents", headers=auth, data={"category": "ordonnance"},
                     files={"file": ("ordo.pdf", pdf_bytes(), "application/pdf")})
    assert up.status_code == 201, up.text
    r = client.post(f"{LETTER}/close", json={"confirm": True}, headers=auth)
    assert r.status_code == 409 and "téléchargez" in r.json()["detail"]
    z = client.get(f"{LETTER}/export", headers=auth)
    assert z.status_code == 200
    with zipfile.ZipFile(io.BytesIO(z.content)) as archive:
        names = archive.namelist()
        bundle = json.loads(archive.read("bundle.json"))
        pdf = [n for n in names if n.startswith("documents/") and n.endswith(".pdf")]
        assert len(pdf) == 1 and archive.read(pdf[0]).startswith(b"%PDF-")
    Bundle.model_validate(bundle)
    types = sorted(e["resource"]["resourceType"] for e in bundle["entry"])
    assert types == ["Binary", "DocumentReference", "Patient"]
    r = client.post(f"{LETTER}/close", json={"confirm": False}, headers=auth)
    assert r.status_code == 422 and "confirmez" in r.json()["detail"]
    r = client.post(f"{LETTER}/close", json={"confirm": True}, headers=auth)
    assert r.status_code == 200 and r.json()["status"] == "closed"
    assert client.get(LETTER, headers=auth).status_code == 403
    # Purge: nothing before the legal period, everything after it.
    assert service.purge(db, actor=Actor.system("tests")) == []
    later = utcnow() + timedelta(days=3651)
    report = service.purge(db, actor=Actor.system("tests"), now=later)
    assert report[0]["removed"] == {"Binary": 1, "DocumentReference": 1, "Patient": 1}
    assert db.scalar(select(func.count()).select_from(FhirResource).where(
        FhirResource.patient_fid == space.patient)) == 0
    assert db.scalar(select(func.count()).select_from(FhirVersion).where(
        FhirVersion.fid == space.patient)) == 0
    assert db.scalar(select(func.count()).select_from(Space)) == 0
    # The downloaded Bundle re-imports into a FHIR store (a transaction of PUTs).
    order = {"Patient": 0, "Binary": 1, "DocumentReference": 2}
    tx = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": e["resource"], "request": {
            "method": "PUT", "url": f"{e['resource']['resourceType']}/{e['resource']['id']}"}}
        for e in sorted(bundle["entry"], key=lambda e: order[e["resource"]["resourceType"]])]}
    r = fhir("doctor", "POST", "", tx)
    assert r.status_code == 200, r.text
    assert fhir("doctor", "GET", f"/DocumentReference?patient={space.patient}").json()["total"] == 1


def test_activation_opens_the_citizen_mailbox_on_her_qualified_ins(
        client, personas, letter, db) -> None:
    from esante.messaging.mailboxes import citizen_address
    from esante.messaging.models import Mailbox

    address = citizen_address(INS_NIR)
    assert db.scalar(select(Mailbox).where(Mailbox.address == address)) is None
    r = client.post(f"{LETTER}/activate", json={"ins": INS_NIR, "code": letter.code},
                    headers=personas.auth("citizen"))
    assert r.status_code == 200, r.text
    box = db.scalar(select(Mailbox).where(Mailbox.address == address))
    assert box is not None and box.kind == "citizen"
    assert box.owner_user_id == personas.users["citizen"].id and not box.listed
