"""The web mailbox and the API: compose from the page (with a PDF and a CDA), the inbox and
the thread of the recipient, the read receipt shown to the sender, the French error of a
refused form (nothing stored), the directory, and problem+json for bad API input."""

from __future__ import annotations

import base64

from sqlalchemy import func, select

from esante.core.audit import AuditEvent
from esante.messaging.models import Delivery, Message
from tests.core.test_auth import csrf_of, login
from tests.messaging.conftest import cda


def _count(db) -> int:  # type: ignore[no-untyped-def]
    return db.scalar(select(func.count()).select_from(Message)) or 0


def test_compose_read_and_receipt_through_the_pages(client, db, personas, boxes):
    login(client, personas, "doctor")
    page = client.get(f"/messagerie/nouveau?a={boxes.other.address}")
    assert page.status_code == 200 and boxes.other.address in page.text
    r = client.post("/messagerie/nouveau", data={
        "csrf_token": csrf_of(page.text), "from": str(boxes.doctor.id), "to": boxes.other.address,
        "subject": "Compte rendu", "text": "Bien à vous", "mdn": "on"},
        files=[("pieces", ("cr.pdf", b"%PDF-1.4 cr", "application/pdf")),
               ("pieces", ("lettre.xml", cda(), "text/xml"))])
    assert r.status_code == 200 and r.url.path == "/messagerie"  # after the 303
    sent = r
    assert "Message envoyé" in sent.text and "Compte rendu" in sent.text
    client.post("/logout", data={"csrf_token": csrf_of(sent.text)})
    client.cookies.clear()

    login(client, personas, "other_doctor")
    inbox = client.get("/messagerie")
    assert "Compte rendu" in inbox.text and "2 PJ" in inbox.text
    link = inbox.text.split('href="/messagerie/messages/')[1].split('"')[0]
    opened = client.get(f"/messagerie/messages/{link}")
    assert "Bien à vous" in opened.text and "IHE_XDM.ZIP" in opened.text
    assert "Document CDA 11490-0" in opened.text
    reported = client.post(f"/messagerie/messages/{link}/hameconnage",
                           data={"csrf_token": csrf_of(opened.text)})
    assert "signalé comme hameçonnage" in reported.text
    pdf = client.get(f"/messagerie/messages/{link}/pieces/0")
    assert pdf.content == b"%PDF-1.4 cr" and pdf.headers["x-content-type-options"] == "nosniff"
    client.cookies.clear()

    login(client, personas, "doctor")
    inbox = client.get("/messagerie")
    assert "accusé de lecture" in inbox.text


def test_refused_form_shows_a_french_error_and_stores_nothing(client, db, personas, boxes):
    login(client, personas, "doctor")
    page = client.get("/messagerie/nouveau")
    before = _count(db)
    r = client.post("/messagerie/nouveau", data={
        "csrf_token": csrf_of(page.text), "from": str(boxes.doctor.id), "to": "x@gmail.com",
        "subject": "s", "text": "t"})
    assert r.status_code == 422 and "espace de confiance" in r.text
    r = client.post("/messagerie/nouveau", data={
        "csrf_token": csrf_of(page.text), "from": str(boxes.doctor.id),
        "to": boxes.other.address, "subject": "s", "text": "t"},
        files=[("pieces", ("cr.pdf", b"MZ not a pdf", "application/pdf"))])
    assert r.status_code == 422 and "ne correspond pas" in r.text
    assert _count(db) == before


def test_citizen_sees_the_message_and_cannot_reply_after_fin(client, db, personas, boxes):
    r = client.post("/api/messaging/messages", headers=personas.auth("doctor"), json={
        "from_mailbox_id": boxes.doctor.id, "to": [boxes.citizen.address],
        "subject": "Résultats", "text": "Tout va bien", "fin": True})
    assert r.status_code == 201, r.text
    login(client, personas, "citizen")
    inbox = client.get("/messagerie")
    assert "Résultats" in inbox.text and "sans réponse" in inbox.text
    link = inbox.text.split('href="/messagerie/messages/')[1].split('"')[0]
    opened = client.get(f"/messagerie/messages/{link}")
    assert "n'appelle pas de réponse" in opened.text and 'id="reply"' not in opened.text
    r = client.post("/api/messaging/messages", headers=personas.auth("citizen"), json={
        "from_mailbox_id": boxes.citizen.id, "to": [boxes.doctor.address], "subject": "Re",
        "text": "Merci", "in_reply_to": r.json()["message_id"]})
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "X-MSS-MES: FIN" in r.text


def test_delete_and_restore_from_the_pages_and_the_api(client, db, personas, boxes):
    h = personas.auth("doctor")
    sent = client.post("/api/messaging/messages", headers=h, json={
        "from_mailbox_id": boxes.doctor.id, "to": [boxes.other.address], "subject": "À classer",
        "text": "t"})
    assert sent.status_code == 201
    copy = db.scalars(select(Delivery).where(Delivery.mailbox_id == boxes.other.id,
                                             Delivery.message_id == sent.json()["message_id"])
                      ).one()
    login(client, personas, "other_doctor")
    opened = client.get(f"/messagerie/messages/{copy.id}")
    assert 'id="delete"' in opened.text and 'id="restore"' not in opened.text
    r = client.post(f"/messagerie/messages/{copy.id}/non-lu",
                    data={"csrf_token": csrf_of(opened.text)})
    assert r.status_code == 200 and "<strong>À classer</strong>" in r.text  # unread again
    db.refresh(copy)
    assert copy.read_at is None
    opened = client.get(f"/messagerie/messages/{copy.id}")
    r = client.post(f"/messagerie/messages/{copy.id}/supprimer",
                    data={"csrf_token": csrf_of(opened.text)})
    assert r.status_code == 200 and r.url.path == "/messagerie"
    assert "placé dans la corbeille" in r.text and "À classer" not in r.text
    trash = client.get(f"/messagerie?boite={boxes.other.id}&dossier=trash")
    assert "Corbeille" in trash.text and "À classer" in trash.text and "supprimé le" in trash.text
    opened = client.get(f"/messagerie/messages/{copy.id}")
    assert "dans la corbeille depuis le" in opened.text and 'id="restore"' in opened.text
    r = client.post(f"/messagerie/messages/{copy.id}/restaurer",
                    data={"csrf_token": csrf_of(opened.text)})
    assert r.status_code == 200 and 'id="delete"' in r.text
    assert "À classer" in client.get("/messagerie").text
    # Someone else's copy: refused, unchanged.
    r = client.delete(f"/api/messaging/messages/{copy.id}", headers=h)
    assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem")
    db.refresh(copy)
    assert copy.deleted_at is None
    # The API: to the trash (listed there only) and back; twice changes nothing more.
    mine = personas.auth("other_doctor")
    for _ in range(2):
        r = client.delete(f"/api/messaging/messages/{copy.id}", headers=mine)
        assert r.status_code == 200 and r.json()["deleted_at"]
    folder = f"/api/messaging/mailboxes/{boxes.other.id}/messages"
    assert [m["id"] for m in client.get(f"{folder}?folder=trash", headers=mine).json()] == [copy.id]
    assert client.get(folder, headers=mine).json() == []
    r = client.post(f"/api/messaging/messages/{copy.id}/restore", headers=mine)
    assert r.status_code == 200 and r.json()["deleted_at"] is None
    assert client.get(f"/api/messaging/messages/{copy.id}", headers=mine).json()["read"]
    r = client.post(f"/api/messaging/messages/{copy.id}/unread", headers=mine)
    assert r.status_code == 200 and r.json()["read"] is False
    bad = client.get(f"{folder}?folder=spam", headers=mine)
    assert bad.status_code == 422 and "inbox, sent ou trash" in bad.text
    events = db.scalars(select(AuditEvent).where(AuditEvent.action.in_(
        ["messaging.message.delete", "messaging.message.restore"])).order_by(AuditEvent.id)).all()
    assert [(e.action.rsplit(".", 1)[1], e.details["via"]) for e in events] == [
        ("delete", "web"), ("restore", "web"), ("delete", "api"), ("restore", "api")]


def test_directory_by_name_profession_and_town(client, personas, boxes):
    h = personas.auth("other_doctor")
    found = client.get("/api/messaging/directory?profession=cardio", headers=h).json()
    assert [e["address"] for e in found] == [boxes.other.address]
    found = client.get("/api/messaging/directory?town=Paris", headers=h).json()
    assert {e["address"] for e in found} == {boxes.doctor.address, boxes.service.address}
    assert boxes.citizen.address not in client.get("/api/messaging/directory", headers=h).text
    assert client.get("/api/messaging/directory", headers=personas.auth("citizen")).status_code == 403
    login(client, personas, "doctor")
    assert "Dr Other" in client.get("/messagerie/annuaire?q=other").text


def test_api_bad_input_is_problem_json_and_changes_nothing(client, db, personas, boxes):
    h = personas.auth("doctor")
    before = _count(db)
    bad = [
        ({"from_mailbox_id": boxes.doctor.id, "to": ["personne@mss.esante.localhost"],
          "subject": "s", "text": "t"}, 404, "destinataire inconnu"),
        ({"from_mailbox_id": boxes.doctor.id, "to": [boxes.other.address], "subject": "s",
          "text": "t", "attachments": [{"filename": "a.pdf", "content_type": "application/pdf",
                                        "data_base64": "%%%"}]}, 422, "base64"),
        ({"from_mailbox_id": boxes.doctor.id, "to": [boxes.other.address], "subject": "s",
          "text": "t", "cda_documents_base64": [base64.b64encode(b"<not-cda/>").decode()]},
         422, "CDA"),
        ({"from_mailbox_id": boxes.other.id, "to": [boxes.doctor.address], "subject": "s",
          "text": "t"}, 403, "accès refusé"),
    ]
    for body, code, words in bad:
        r = client.post("/api/messaging/messages", headers=h, json=body)
        assert r.status_code == code, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert words in r.text
    assert _count(db) == before


def test_directory_as_fhir_practitioner_role(client, personas, boxes):
    h = personas.auth("other_doctor")
    r = client.get(f"/fhir/PractitionerRole?telecom={boxes.doctor.address}", headers=h)
    assert r.status_code == 200, r.text
    [entry] = r.json()["entry"]
    role = entry["resource"]
    assert role["telecom"][0]["value"] == boxes.doctor.address
    assert role["identifier"][0] == {"system": "urn:oid:1.2.250.1.71.4.2.1",
                                     "value": personas.users["doctor"].rpps}
    assert role["specialty"][0]["text"] == "Médecin généraliste"
    r = client.get(f"/fhir/PractitionerRole?telecom={boxes.citizen.address}", headers=h)
    assert r.json().get("entry", []) == []


PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff"
       b"\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82")


def test_attachment_preview_inline_for_the_holder_only(client, db, personas, boxes):
    from esante.core.audit import AuditEvent
    from esante.messaging import delivery, mime
    from tests.messaging.conftest import principal

    delivery.send(db, principal(personas, "doctor"), from_mailbox_id=boxes.doctor.id,
                  draft=mime.Draft(sender="", to=[boxes.other.address], subject="Images",
                                   text="Voir les pièces.", attachments=[
                                       mime.Attachment("cr.pdf", "application/pdf",
                                                       b"%PDF-1.4 cr"),
                                       mime.Attachment("ecg.png", "image/png", PNG),
                                       mime.Attachment("note.txt", "text/plain", b"<b>x</b>")]))
    login(client, personas, "other_doctor")
    inbox = client.get("/messagerie")
    link = inbox.text.split('href="/messagerie/messages/')[1].split('"')[0]
    page = client.get(f"/messagerie/messages/{link}")
    base = f"/messagerie/messages/{link}/pieces"
    assert f'<iframe src="{base}/0/apercu"' in page.text
    assert f'<img class="fr-responsive-img" src="{base}/1/apercu"' in page.text
    assert f"{base}/2/apercu" not in page.text  # text is downloaded, never previewed

    pdf = client.get(f"{base}/0/apercu")
    assert pdf.status_code == 200 and pdf.content == b"%PDF-1.4 cr"
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"] == 'inline; filename="cr.pdf"'
    assert pdf.headers["x-frame-options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in pdf.headers["content-security-policy"]
    assert "script-src" not in pdf.headers["content-security-policy"]
    assert pdf.headers["cache-control"] == "no-store, private"
    png = client.get(f"{base}/1/apercu")
    assert png.content == PNG and png.headers["content-type"] == "image/png"
    assert "sandbox" in png.headers["content-security-policy"]
    text = client.get(f"{base}/2/apercu")
    assert text.status_code == 404 and "PDF et images" in text.text
    inline = db.scalars(select(AuditEvent).where(
        AuditEvent.action == "messaging.attachment.read")).all()
    assert [e.details["inline"] for e in inline] == [True, True]
    client.cookies.clear()

    login(client, personas, "doctor")  # the sender's own inbox does not hold this copy
    assert client.get(f"{base}/0/apercu").status_code == 403
    client.cookies.clear()
    login(client, personas, "admin")  # administrators never read messages
    assert client.get(f"{base}/1/apercu").status_code == 403
