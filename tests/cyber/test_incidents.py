"""Incident declaration and handling through the API: idempotent declaration, drafts,
workflow, access by establishment, region and nation, timeline, evidence, obligations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from esante.core.notifications.models import Notification
from esante.cyber.incidents.models import Incident, IncidentAttachment, IncidentEvent
from tests.cyber.conftest import declaration


def count(db, model) -> int:  # type: ignore[no-untyped-def]
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model)) or 0


def test_declaring_twice_with_the_same_key_makes_one_incident(client, personas, db) -> None:
    body = declaration(personas.est["A"].finess)
    first = client.post("/api/cyber/incidents", headers=personas.auth("rssi_a"), json=body)
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "declared"
    assert first.json()["reference"].startswith("INC-")
    again = client.post("/api/cyber/incidents", headers=personas.auth("rssi_a"), json=body)
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert count(db, Incident) == 1
    # The cell and the region were told; the other region was not.
    analyst_notes = db.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == personas.users["analyst"].id))
    assert analyst_notes == 1
    assert db.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == personas.users["regional"].id)) == 1


def test_a_draft_is_saved_as_typed_then_completed_and_submitted(client, personas, db) -> None:
    body = declaration(personas.est["A"].finess, submit=False, description=None,
                       categories=None)
    body = {k: v for k, v in body.items() if v is not None}
    r = client.post("/api/cyber/incidents", headers=personas.auth("rssi_a"), json=body)
    assert r.status_code == 201
    incident = r.json()
    assert incident["status"] == "draft"
    incomplete = client.post(f"/api/cyber/incidents/{incident['id']}/submit",
                             headers=personas.auth("rssi_a"))
    assert incomplete.status_code == 422
    assert "description" in incomplete.json()["detail"]
    assert "catégories" in incomplete.json()["detail"]
    # The analyst does not see drafts.
    assert client.get(f"/api/cyber/incidents/{incident['id']}",
                      headers=personas.auth("analyst")).status_code == 404
    patched = client.patch(f"/api/cyber/incidents/{incident['id']}",
                           headers=personas.auth("rssi_a"),
                           json={"description": "Complété plus tard.", "categories": ["data"]})
    assert patched.status_code == 200, patched.text
    done = client.post(f"/api/cyber/incidents/{incident['id']}/submit",
                       headers=personas.auth("rssi_a"))
    assert done.status_code == 200
    assert done.json()["status"] == "declared"


def test_bad_declarations_are_refused_and_save_nothing(client, personas, db) -> None:
    fin = personas.est["A"].finess
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    cases = [
        (declaration(fin, detected_at=future), 422, "futur"),
        (declaration(fin, started_at=(datetime.now(UTC)).isoformat(),
                     detected_at=(datetime.now(UTC) - timedelta(hours=5)).isoformat()),
         422, "début"),
        (declaration(fin, categories=["alien_invasion"]), 422, "categories"),
        (declaration(fin, title=None), 422, "titre"),
        (declaration(fin, unexpected="x"), 422, "unexpected"),
    ]
    for body, status, text in cases:
        r = client.post("/api/cyber/incidents", headers=personas.auth("rssi_a"), json=body)
        assert r.status_code == status, (text, r.text)
        assert text in r.text, r.text
    assert count(db, Incident) == 0
    assert count(db, IncidentEvent) == 0


def test_visibility_by_establishment_region_and_nation(client, personas, declare) -> None:
    a = declare("rssi_a", "A")
    b = declare("rssi_b", "B")
    see = {who: {i["id"] for i in client.get("/api/cyber/incidents",
                                             headers=personas.auth(who)).json()["items"]}
           for who in ("rssi_a", "rssi_b", "director_a", "regional", "analyst")}
    assert see["rssi_a"] == see["director_a"] == {a["id"]}
    assert see["rssi_b"] == {b["id"]}
    assert see["regional"] == {a["id"]}  # region 11 holds A, not B (Lyon)
    assert see["analyst"] == {a["id"], b["id"]}
    assert client.get(f"/api/cyber/incidents/{a['id']}",
                      headers=personas.auth("rssi_b")).status_code == 404
    for who in ("citizen", "doctor", "admin", "outsider"):
        assert client.get("/api/cyber/incidents", headers=personas.auth(who)).status_code == 403
        assert client.get(f"/api/cyber/incidents/{a['id']}",
                          headers=personas.auth(who)).status_code == 404


def test_the_cell_handles_the_incident_through_its_workflow(client, personas, declare, db) -> None:
    inc = declare()
    url = f"/api/cyber/incidents/{inc['id']}"
    cell = personas.auth("analyst")
    # The establishment cannot acknowledge; the region cannot either.
    for who in ("rssi_a", "regional"):
        r = client.post(f"{url}/status", headers=personas.auth(who), json={"status": "acknowledged"})
        assert r.status_code == 403, who
    skip = client.post(f"{url}/status", headers=cell, json={"status": "closed", "reason": "x"})
    assert skip.status_code == 422
    assert "passage impossible" in skip.json()["detail"]
    ack = client.post(f"{url}/status", headers=cell, json={"status": "acknowledged"})
    assert ack.status_code == 200
    assert ack.json()["status"] == "acknowledged"
    no_grid = client.post(f"{url}/status", headers=cell, json={"status": "qualified"})
    assert no_grid.status_code == 422
    q = client.post(f"{url}/qualification", headers=cell, json={"care": 2, "data": 2, "spread": 1})
    assert q.json()["severity"] == 3
    assert q.json()["status"] == "qualified"
    stale = client.post(f"{url}/status", headers=cell,
                        json={"status": "remediation", "expected_version": 1})
    assert stale.status_code == 409
    client.post(f"{url}/status", headers=cell, json={"status": "remediation"})
    no_summary = client.post(f"{url}/status", headers=cell, json={"status": "closed"})
    assert no_summary.status_code == 422
    closed = client.post(f"{url}/status", headers=cell,
                         json={"status": "closed", "reason": "Sauvegardes restaurées."})
    assert closed.json()["status"] == "closed"
    reopen = client.post(f"{url}/status", headers=cell,
                         json={"status": "remediation", "reason": "Réinfection constatée."})
    assert reopen.json()["status"] == "remediation"
    kinds = [e["kind"] for e in client.get(f"{url}/timeline", headers=cell).json()]
    assert kinds[:2] == ["created", "declared"]
    assert kinds.count("status") == 5
    assert "qualified" in kinds
    # The establishment was told of the acknowledgement.
    assert db.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == personas.users["rssi_a"].id,
        Notification.title.like("%pris en compte%"))) == 1


def test_questions_answers_notes_tasks_and_escalation(client, personas, declare, db) -> None:
    inc = declare()
    url = f"/api/cyber/incidents/{inc['id']}"
    cell = personas.auth("analyst")
    ask = client.post(f"{url}/info-requests", headers=cell,
                      json={"text": "Quel est le prestataire d'infogérance ?"})
    assert ask.status_code == 201
    req_id = client.get(f"{url}/timeline", headers=cell).json()
    request_id = db.scalar(select(IncidentEvent.id).where(IncidentEvent.kind == "info_request"))
    answer = client.post(f"{url}/info-answers", headers=personas.auth("rssi_a"),
                         json={"request_id": request_id, "text": "Société X."})
    assert answer.status_code == 201
    twice = client.post(f"{url}/info-answers", headers=personas.auth("rssi_a"),
                        json={"request_id": request_id, "text": "Encore."})
    assert twice.status_code == 409
    assert client.post(f"{url}/notes", headers=personas.auth("regional"),
                       json={"text": "L'ARS prévient le GHT."}).status_code == 201
    assert client.post(f"{url}/notes", headers=personas.auth("rssi_b"),
                       json={"text": "x"}).status_code == 404
    task = client.post(f"{url}/tasks", headers=cell,
                       json={"title": "Restaurer l'annuaire", "owner": "establishment"}).json()
    assert client.post(f"{url}/tasks/{task['id']}/done",
                       headers=personas.auth("rssi_a")).status_code == 200
    esc = client.post(f"{url}/escalations", headers=cell,
                      json={"targets": ["ars", "hfds"], "reason": "Incident majeur en cours"})
    assert esc.status_code == 201
    assert esc.json()["data"]["reached"]["ars"] == 1
    assert esc.json()["data"]["reached"]["hfds"] == 0  # no address configured here
    timeline = client.get(f"{url}/timeline", headers=personas.auth("regional")).json()
    assert [e["kind"] for e in timeline][-6:] == ["info_request", "info_answer", "note", "task",
                                                  "task_done", "escalated"]
    assert req_id


def test_obligations_and_generated_reports(client, personas, declare) -> None:
    client.put(f"/api/cyber/establishments/{personas.est['A'].finess}/profile",
               headers=personas.auth("rssi_a"), json={"nis2_in_scope": True})
    inc = declare()
    url = f"/api/cyber/incidents/{inc['id']}"
    ob = {o["code"]: o for o in client.get(f"{url}/obligations",
                                           headers=personas.auth("rssi_a")).json()}
    assert set(ob) == {"health_declaration", "cnil", "nis2_early_warning", "nis2_notification",
                       "nis2_final_report"}
    assert ob["health_declaration"]["status"] == "done"
    assert ob["cnil"]["status"] == "due"
    draft = client.get(f"{url}/reports/cnil/draft", headers=personas.auth("rssi_a")).json()
    assert "CNIL" in draft["text"]
    assert "1200 personne(s)" in draft["text"]
    assert draft["content"]["establishment"]["finess"] == personas.est["A"].finess
    sent = client.post(f"{url}/reports/cnil", headers=personas.auth("rssi_a"), json={"text": ""})
    assert sent.status_code == 201
    again = client.post(f"{url}/reports/cnil", headers=personas.auth("rssi_a"), json={"text": ""})
    assert again.status_code == 409
    ob = {o["code"]: o for o in client.get(f"{url}/obligations",
                                           headers=personas.auth("rssi_a")).json()}
    assert ob["cnil"]["status"] == "done"
    assert client.get(f"{url}/reports/unknown/draft",
                      headers=personas.auth("rssi_a")).status_code == 404


def test_evidence_is_checked_encrypted_and_hashed(client, personas, declare, db, data_dir) -> None:
    import hashlib

    inc = declare()
    url = f"/api/cyber/incidents/{inc['id']}/attachments"
    pdf = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
    ok = client.post(url, headers=personas.auth("rssi_a"),
                     files={"file": ("rapport.pdf", pdf, "application/pdf")})
    assert ok.status_code == 201, ok.text
    assert ok.json()["sha256"] == hashlib.sha256(pdf).hexdigest()
    # Stored encrypted: the bytes are nowhere on disk in clear.
    for path in data_dir.rglob("*"):
        if path.is_file() and "blobs" in str(path):
            assert pdf not in path.read_bytes()
    back = client.get(f"{url}/{ok.json()['id']}", headers=personas.auth("analyst"))
    assert back.content == pdf
    bad = [
        (("outil.exe", b"MZ\x90\x00rest", "application/octet-stream"), "exécutable"),
        (("script.sh", b"#!/bin/sh\nrm -rf /", "text/plain"), "script"),
        (("photo.png", pdf, "image/png"), "type déclaré"),
        (("macro.zip", b"PK\x03\x04....", "application/zip"), "ZIP"),
    ]
    for (name, data, ctype), text in bad:
        r = client.post(url, headers=personas.auth("rssi_a"), files={"file": (name, data, ctype)})
        assert r.status_code == 422, name
        assert text in r.json()["detail"], r.json()
    assert count(db, IncidentAttachment) == 1
    assert client.post(url, headers=personas.auth("regional"),
                       files={"file": ("x.pdf", pdf, "application/pdf")}).status_code == 403


def test_evidence_may_exceed_the_body_limit_but_not_the_upload_limit(client, personas,
                                                                     declare) -> None:
    inc = declare()
    url = f"/api/cyber/incidents/{inc['id']}/attachments"
    log = ("2026-11-28 10:00:00 connexion refusée depuis 203.0.113.7\n" * 40_000).encode()
    assert 1_048_576 < len(log) < 10 * 1_048_576
    ok = client.post(url, headers=personas.auth("rssi_a"),
                     files={"file": ("pare-feu.log", log, "text/plain")})
    assert ok.status_code == 201, ok.text[:300]
    huge = b"a" * (10 * 1_048_576 + 10)
    too_big = client.post(url, headers=personas.auth("rssi_a"),
                          files={"file": ("enorme.log", huge, "text/plain")})
    assert too_big.status_code == 413
    # Elsewhere the general limit holds.
    assert client.post("/api/cyber/incidents", headers=personas.auth("rssi_a"),
                       content=b"{" + b" " * 1_100_000 + b"}").status_code == 413


def test_declaring_through_the_status_route_is_a_full_submission(client, personas, db) -> None:
    body = declaration(personas.est["A"].finess, submit=False, description=None)
    body = {k: v for k, v in body.items() if v is not None}
    draft = client.post("/api/cyber/incidents", headers=personas.auth("rssi_a"), json=body).json()
    url = f"/api/cyber/incidents/{draft['id']}/status"
    incomplete = client.post(url, headers=personas.auth("rssi_a"), json={"status": "declared"})
    assert incomplete.status_code == 422
    client.patch(f"/api/cyber/incidents/{draft['id']}", headers=personas.auth("rssi_a"),
                 json={"description": "Complété."})
    done = client.post(url, headers=personas.auth("rssi_a"), json={"status": "declared"})
    assert done.status_code == 200
    assert done.json()["reference"].startswith("INC-")
    assert done.json()["declared_at"]
