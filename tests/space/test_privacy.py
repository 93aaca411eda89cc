"""Privacy choices recorded as Consents and enforced by the FHIR access layer; break-glass
notifies the citizen at once and is highlighted in her access history."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from esante.core.notifications.models import Notification
from tests.space.conftest import pdf_bytes

API = "/api/space"


def _upload(client, personas) -> str:  # type: ignore[no-untyped-def]
    r = client.post(f"{API}/documents", headers=personas.auth("citizen"),
                    data={"category": "biologie"},
                    files={"file": ("bilan.pdf", pdf_bytes(), "application/pdf")})
    assert r.status_code == 201, r.text
    return str(r.json()["fid"])


def total(fhir, who: str, query: str) -> int:  # type: ignore[no-untyped-def]
    r = fhir(who, "GET", query)
    assert r.status_code == 200, r.text
    return int(r.json()["total"])


def test_hidden_document_is_hidden_from_professionals(client, personas, space, fhir) -> None:
    fid = _upload(client, personas)
    assert fhir("doctor", "GET", f"/DocumentReference/{fid}").status_code == 200
    r = client.post(f"{API}/documents/{fid}/hide", json={"hidden": True},
                    headers=personas.auth("citizen"))
    assert r.status_code == 200, r.text
    assert fhir("doctor", "GET", f"/DocumentReference/{fid}").status_code == 403
    assert total(fhir, "doctor", f"/DocumentReference?patient={space.patient}") == 0
    binary = client.get("/api/space/documents", headers=personas.auth("citizen")).json()[0]
    assert binary["hidden"] is True
    assert fhir("doctor", "GET", f"/Binary/{binary['binary_fid']}").status_code == 403
    kinds = [c["kind"] for c in client.get(f"{API}/privacy",
                                           headers=personas.auth("citizen")).json()]
    assert kinds == ["hide"]
    client.post(f"{API}/documents/{fid}/hide", json={"hidden": False},
                headers=personas.auth("citizen"))
    assert fhir("doctor", "GET", f"/DocumentReference/{fid}").status_code == 200


def test_a_blocked_professional_sees_nothing_not_even_counts(client, personas, space,
                                                             fhir) -> None:
    _upload(client, personas)
    rpps = personas.users["doctor"].rpps
    r = client.post(f"{API}/privacy/blocks", json={"rpps": rpps}, headers=personas.auth("citizen"))
    assert r.status_code == 200, r.text
    assert fhir("doctor", "GET", f"/Patient/{space.patient}").status_code == 403
    assert total(fhir, "doctor", f"/DocumentReference?patient={space.patient}") == 0
    assert total(fhir, "doctor", "/Patient?_summary=count") == 0
    bad = client.post(f"{API}/privacy/blocks", json={"rpps": "12345678901"},
                      headers=personas.auth("citizen"))
    assert bad.status_code == 422 and "RPPS" in bad.json()["detail"]
    client.post(f"{API}/privacy/blocks/{rpps}/remove", headers=personas.auth("citizen"))
    assert fhir("doctor", "GET", f"/Patient/{space.patient}").status_code == 200


def test_declared_treating_doctor_reaches_the_record(client, personas, space, fhir) -> None:
    assert fhir("other_doctor", "GET", f"/Patient/{space.patient}").status_code == 403
    r = client.post(f"{API}/privacy/care-team",
                    json={"rpps": personas.users["other_doctor"].rpps, "role": "PCP"},
                    headers=personas.auth("citizen"))
    assert r.status_code == 200, r.text
    assert fhir("other_doctor", "GET", f"/Patient/{space.patient}").status_code == 200
    r = client.post(f"{API}/privacy/care-team", json={"rpps": personas.users["doctor"].rpps[:10]
                                                      + "0"}, headers=personas.auth("citizen"))
    assert r.status_code == 422


def test_break_glass_notifies_at_once_and_is_highlighted(client, personas, space, fhir,
                                                          db) -> None:
    glass = fhir("other_doctor", "POST", f"/Patient/{space.patient}/$break-glass", {
        "resourceType": "Parameters",
        "parameter": [{"name": "reason", "valueString": "patiente inconsciente aux urgences"}]})
    assert glass.status_code == 200, glass.text
    assert fhir("other_doctor", "GET", f"/Patient/{space.patient}").status_code == 200
    notes = db.scalars(select(Notification).where(
        Notification.user_id == personas.users["citizen"].id)).all()
    assert any("urgence" in n.title for n in notes)
    h = client.get(f"{API}/access-history?break_glass=true",
                   headers=personas.auth("citizen")).json()
    assert h["entries"] and all(e["break_glass"] for e in h["entries"])
    assert any(e["why"] == "patiente inconsciente aux urgences" for e in h["entries"])
    assert {e["who"] for e in h["entries"]} == {"Other_Doctor"}
    everything = client.get(f"{API}/access-history", headers=personas.auth("citizen")).json()
    assert everything["total"] > h["total"] == len(h["entries"])
    pros = client.get(f"{API}/access-history?who=pro", headers=personas.auth("citizen")).json()
    assert all(e["who"] != "Vous" for e in pros["entries"])
    text = client.get(f"{API}/access-history.csv?break_glass=true",
                      headers=personas.auth("citizen")).text
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0][0] == "date" and rows[1][-1] == "oui"
    bad = client.get(f"{API}/access-history?since=hier", headers=personas.auth("citizen"))
    assert bad.status_code == 422 and "date invalide" in bad.json()["detail"]


def test_hidden_document_stays_visible_to_its_author(client, personas, space, fhir) -> None:
    """Hidden from every professional: its author (the RPPS its ``author`` names) still
    reads and finds it, with its file; another professional in care does not; hidden
    from the author by name, the author does not see it either."""
    import base64

    from esante.fhir.frcore import RPPS_SYSTEM
    from esante.space.privacy import _actor

    client.post(f"{API}/privacy/care-team", json={"rpps": personas.users["other_doctor"].rpps,
                                                  "role": "PCP"}, headers=personas.auth("citizen"))
    b = fhir("doctor", "POST", "/Binary", {
        "resourceType": "Binary", "contentType": "application/pdf",
        "securityContext": {"reference": f"Patient/{space.patient}"},
        "data": base64.b64encode(pdf_bytes()).decode()})
    assert b.status_code == 201, b.text
    binary = b.json()["id"]
    d = fhir("doctor", "POST", "/DocumentReference", {
        "resourceType": "DocumentReference", "status": "current",
        "subject": {"reference": f"Patient/{space.patient}"},
        "author": [{"identifier": {"system": RPPS_SYSTEM, "value": personas.users["doctor"].rpps},
                    "display": "Dr Doctor"}],
        "content": [{"attachment": {"contentType": "application/pdf", "url": f"Binary/{binary}"}}]})
    assert d.status_code == 201, d.text
    fid = d.json()["id"]
    query = f"/DocumentReference?patient={space.patient}"
    for who in ("doctor", "other_doctor"):
        assert fhir(who, "GET", f"/DocumentReference/{fid}").status_code == 200
    r = client.post(f"{API}/documents/{fid}/hide", json={"hidden": True},
                    headers=personas.auth("citizen"))
    assert r.status_code == 200, r.text
    # The author: read, search (counted) and the file.
    assert fhir("doctor", "GET", f"/DocumentReference/{fid}").status_code == 200
    assert fhir("doctor", "GET", f"/Binary/{binary}").status_code == 200
    assert total(fhir, "doctor", query) == 1
    # Another professional in care: nothing, not even a count.
    assert fhir("other_doctor", "GET", f"/DocumentReference/{fid}").status_code == 403
    assert fhir("other_doctor", "GET", f"/Binary/{binary}").status_code == 403
    assert total(fhir, "other_doctor", query) == 0
    # The citizen still sees it (marked hidden).
    listed = client.get(f"{API}/documents", headers=personas.auth("citizen")).json()
    assert [(x["fid"], x["hidden"]) for x in listed] == [(fid, True)]
    # Shown again, then hidden from the author by name (a Consent naming her): hidden.
    client.post(f"{API}/documents/{fid}/hide", json={"hidden": False},
                headers=personas.auth("citizen"))
    assert total(fhir, "other_doctor", query) == 1
    consent = fhir("citizen", "POST", "/Consent", {
        "resourceType": "Consent", "status": "active",
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                              "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"reference": f"Patient/{space.patient}"},
        "provision": {"type": "permit", "provision": [{
            "type": "deny",
            "actor": [_actor(personas.users["doctor"].rpps, "IRCP")],
            "data": [{"meaning": "instance",
                      "reference": {"reference": f"DocumentReference/{fid}"}}]}]}})
    assert consent.status_code == 201, consent.text
    assert fhir("doctor", "GET", f"/DocumentReference/{fid}").status_code == 403
    assert total(fhir, "doctor", query) == 0
    assert total(fhir, "other_doctor", query) == 1
