"""Access to the FHIR store with the foundation's personas: the holder sees her record and
who touched it; her doctor (care relationship) sees it unless blocked; hidden resources
stay hidden in reads and searches (no count leaks); another doctor needs a justified,
notified break-glass; security and governance roles see no clinical data."""

from __future__ import annotations

from sqlalchemy import select

from esante.core.audit import AuditEvent, seal, verify_chain
from esante.core.notifications.models import Notification
from esante.fhir.frcore import RPPS_SYSTEM
from tests.fhir.conftest import observation_body


def consent(patient: str, *, actor_rpps: str | None = None,
            data: str | None = None) -> dict:
    provision: dict = {"type": "deny"}
    if actor_rpps:
        provision["actor"] = [{
            "role": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                 "code": "PRCP"}]},
            "reference": {"identifier": {"system": RPPS_SYSTEM, "value": actor_rpps}}}]
    if data:
        provision["data"] = [{"meaning": "instance", "reference": {"reference": data}}]
    return {"resourceType": "Consent", "status": "active",
            "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                                  "code": "patient-privacy"}]},
            "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
            "patient": {"reference": f"Patient/{patient}"},
            "policyRule": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                                       "code": "OPTIN"}]},
            "provision": provision}


def total(fhir, who: str, query: str) -> int:
    r = fhir(who, "GET", query)
    assert r.status_code == 200, r.text
    return r.json()["total"]


def test_holder_and_her_doctor_read_others_do_not(fhir, make_patient) -> None:
    pid = make_patient()
    oid = fhir("doctor", "POST", "/Observation", observation_body(pid)).json()["id"]
    assert fhir("citizen", "GET", f"/Patient/{pid}").status_code == 200
    assert fhir("citizen", "GET", f"/Observation/{oid}").status_code == 200
    assert fhir("doctor", "GET", f"/Observation/{oid}").status_code == 200
    for who in ("other_doctor", "rssi_a", "regional", "analyst", "admin", "outsider"):
        assert fhir(who, "GET", f"/Observation/{oid}").status_code == 403, who
        assert fhir(who, "GET", f"/Patient/{pid}").status_code == 403, who
        assert total(fhir, who, f"/Observation?patient={pid}") == 0, who
        assert total(fhir, who, "/Patient") == 0, who
    assert fhir(None, "GET", f"/Patient/{pid}").status_code == 401


def test_a_citizen_cannot_reach_another_record_by_any_search(fhir, make_patient) -> None:
    mine = make_patient(family="Martin")
    theirs = make_patient(family="Secret", holder="outsider")
    fhir("doctor", "POST", "/Observation", observation_body(theirs))
    oid = fhir("doctor", "POST", "/Observation", observation_body(mine)).json()["id"]
    assert fhir("citizen", "GET", f"/Patient/{theirs}").status_code == 403
    assert total(fhir, "citizen", "/Patient") == 1
    assert total(fhir, "citizen", "/Patient?family=secret") == 0
    assert total(fhir, "citizen", f"/Observation?patient={theirs}") == 0
    assert total(fhir, "citizen", "/Observation?subject:Patient.family=secret") == 0
    rev = fhir("citizen", "GET", f"/Patient?_id={theirs}&_revinclude=Observation:subject").json()
    assert rev["total"] == 0
    assert "entry" not in rev
    inc = fhir("citizen", "GET", f"/Observation?_id={oid}&_include=Observation:patient").json()
    assert {e["resource"]["id"] for e in inc["entry"]} == {oid, mine}
    history = fhir("citizen", "GET", "/Patient/_history").json()
    assert {e["resource"]["id"] for e in history.get("entry", [])} == {mine}


def test_blocked_professional_gets_403_and_no_hits(fhir, make_patient, personas) -> None:
    pid = make_patient()
    oid = fhir("doctor", "POST", "/Observation", observation_body(pid)).json()["id"]
    assert fhir("doctor", "POST", "/Consent",
                consent(pid, actor_rpps=personas.users["doctor"].rpps)).status_code == 403
    r = fhir("citizen", "POST", "/Consent", consent(pid, actor_rpps=personas.users["doctor"].rpps))
    assert r.status_code == 201, r.text
    assert fhir("doctor", "GET", f"/Observation/{oid}").status_code == 403
    assert fhir("doctor", "GET", f"/Patient/{pid}").status_code == 403
    assert total(fhir, "doctor", f"/Observation?patient={pid}") == 0
    assert total(fhir, "doctor", "/Patient") == 0
    # Not even through an emergency access.
    glass = fhir("doctor", "POST", f"/Patient/{pid}/$break-glass", {
        "resourceType": "Parameters",
        "parameter": [{"name": "reason", "valueString": "urgence vitale aux urgences"}]})
    assert glass.status_code == 403
    # Revoking the Consent gives access back.
    revoked = r.json() | {"status": "inactive"}
    assert fhir("citizen", "PUT", f"/Consent/{revoked['id']}", revoked).status_code == 200
    assert fhir("doctor", "GET", f"/Observation/{oid}").status_code == 200


def test_hidden_document_is_hidden_from_professionals_only(fhir, make_patient) -> None:
    pid = make_patient()
    shown = fhir("doctor", "POST", "/Observation", observation_body(pid, value=60)).json()["id"]
    hidden = fhir("doctor", "POST", "/Observation", observation_body(pid, value=99)).json()["id"]
    r = fhir("citizen", "POST", "/Consent", consent(pid, data=f"Observation/{hidden}"))
    assert r.status_code == 201, r.text
    assert fhir("doctor", "GET", f"/Observation/{hidden}").status_code == 403
    assert fhir("doctor", "GET", f"/Observation/{shown}").status_code == 200
    doctor_view = fhir("doctor", "GET", f"/Observation?patient={pid}").json()
    assert doctor_view["total"] == 1  # no count leak
    assert [e["resource"]["id"] for e in doctor_view["entry"]] == [shown]
    assert total(fhir, "citizen", f"/Observation?patient={pid}") == 2


def test_break_glass_is_justified_audited_and_notified(fhir, make_patient, db, personas) -> None:
    pid = make_patient()
    oid = fhir("doctor", "POST", "/Observation", observation_body(pid)).json()["id"]
    short = fhir("other_doctor", "POST", f"/Patient/{pid}/$break-glass", {
        "resourceType": "Parameters", "parameter": [{"name": "reason", "valueString": "vite"}]})
    assert short.status_code == 422
    assert fhir("rssi_a", "POST", f"/Patient/{pid}/$break-glass", {
        "resourceType": "Parameters",
        "parameter": [{"name": "reason", "valueString": "je veux voir ce dossier"}]}
    ).status_code == 403
    ok = fhir("other_doctor", "POST", f"/Patient/{pid}/$break-glass", {
        "resourceType": "Parameters",
        "parameter": [{"name": "reason", "valueString": "patiente inconsciente aux urgences"}]})
    assert ok.status_code == 200, ok.text
    assert fhir("other_doctor", "GET", f"/Observation/{oid}").status_code == 200
    ev = db.scalar(select(AuditEvent).where(AuditEvent.action == "fhir.break-glass"))
    assert ev is not None
    assert ev.justification == "patiente inconsciente aux urgences"
    assert ev.patient_ref == f"Patient/{pid}"
    note = db.scalar(select(Notification).where(
        Notification.user_id == personas.users["citizen"].id))
    assert note is not None
    assert "urgence" in note.title


def test_the_holder_lists_every_access_to_her_record(fhir, make_patient, db) -> None:
    pid = make_patient()
    oid = fhir("doctor", "POST", "/Observation", observation_body(pid)).json()["id"]
    fhir("doctor", "GET", f"/Observation/{oid}")
    fhir("doctor", "GET", f"/Observation?patient={pid}")
    r = fhir("citizen", "GET", f"/AuditEvent?patient={pid}")
    assert r.status_code == 200, r.text
    events = [e["resource"] for e in r.json()["entry"]]
    kinds = [e["subtype"][0]["code"] for e in events]
    assert {"create", "read", "search-type"} <= set(kinds)
    assert all(e["agent"][0]["who"]["display"] for e in events)
    assert fhir("outsider", "GET", f"/AuditEvent?patient={pid}").status_code == 403
    assert fhir("doctor", "GET", f"/AuditEvent?patient={pid}").status_code == 403
    seal(db)
    assert verify_chain(db).ok
    assert verify_chain(db).checked > 0


def test_read_only_token_cannot_write(fhir, make_patient, db, personas) -> None:
    from esante.core.accounts import service as accounts
    from esante.core.audit import Actor

    pid = make_patient()
    _, raw = accounts.create_token(db, actor=Actor.system("t"), user=personas.users["doctor"],
                                   scopes=["read"])
    r = fhir.client.post("/fhir/Observation", json=observation_body(pid),
                         headers={"Authorization": f"Bearer {raw}",
                                  "Content-Type": "application/fhir+json"})
    assert r.status_code == 403
    assert r.json()["resourceType"] == "OperationOutcome"
    read = fhir.client.get(f"/fhir/Patient/{pid}", headers={"Authorization": f"Bearer {raw}"})
    assert read.status_code == 200


def test_directory_is_read_by_all_written_by_admins(fhir, personas) -> None:
    body = {"resourceType": "Practitioner", "name": [{"family": "Bernard"}],
            "identifier": [{"system": RPPS_SYSTEM, "value": personas.users["doctor"].rpps}]}
    assert fhir("doctor", "POST", "/Practitioner", body).status_code == 403
    r = fhir("admin", "POST", "/Practitioner", body)
    assert r.status_code == 201
    assert total(fhir, "citizen", f"/Practitioner?identifier={personas.users['doctor'].rpps}") == 1
    bad = fhir("admin", "POST", "/Practitioner", {**body, "identifier": [
        {"system": RPPS_SYSTEM, "value": "10000000000"}]})
    assert bad.status_code == 422
    assert "RPPS" in bad.json()["issue"][0]["diagnostics"]
