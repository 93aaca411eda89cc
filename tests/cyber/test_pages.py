"""Incident pages through the real login form: the guided declaration (autosaved draft,
French errors, submission), the incident page per role, the cell's actions."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from esante.cyber.incidents.models import Incident
from esante.cyber.incidents.rules import PARIS
from tests.core.test_auth import csrf_of, login

csrf = csrf_of  # the token of the page's form


def form_fields(html: str) -> dict[str, str]:
    return {"csrf_token": csrf(html),
            "idempotency_key": re.search(r'name="idempotency_key" value="([^"]+)"', html).group(1)}


def local(dt: datetime) -> str:
    return dt.astimezone(PARIS).strftime("%Y-%m-%dT%H:%M")


def test_declaring_from_the_form(client, personas, db) -> None:
    login(client, personas, "rssi_a")
    page = client.get("/cyber/incidents/nouveau")
    assert page.status_code == 200
    assert "Déclarer un incident de sécurité" in page.text
    base = form_fields(page.text) | {"finess": personas.est["A"].finess}
    # An autosave (htmx) keeps what was typed so far.
    saved = client.post("/cyber/incidents/nouveau", headers={"HX-Request": "true"},
                        data=base | {"title": "Messagerie compromise"})
    assert "Brouillon enregistré" in saved.text
    draft = db.scalar(select(Incident))
    assert draft is not None
    assert draft.status == "draft"
    assert draft.title == "Messagerie compromise"
    # Submitting incomplete: a French message, the draft kept with what was typed.
    incomplete = client.post("/cyber/incidents/nouveau",
                             data=base | {"title": "Messagerie compromise", "action": "submit",
                                          "description": "Hameçonnage réussi."})
    assert incomplete.status_code == 422
    assert "déclaration incomplète" in incomplete.text
    assert "Hameçonnage réussi." in incomplete.text
    detected = datetime.now(UTC) - timedelta(hours=2)
    done = client.post("/cyber/incidents/nouveau", follow_redirects=False, data=base | {
        "title": "Messagerie compromise", "description": "Hameçonnage réussi.",
        "detected_at": local(detected), "categories": ["data", "operations"],
        "malicious": "yes", "personal_data_breach": "on", "people_affected": "40",
        "action": "submit"})
    assert done.status_code == 303, done.text
    db.expire_all()
    incident = db.scalar(select(Incident))
    assert incident.status == "declared"
    assert abs((incident.detected_at - detected).total_seconds()) < 60
    detail = client.get(done.headers["location"])
    assert incident.reference in detail.text
    assert "Notification de violation de données personnelles" in detail.text


def test_the_cell_acknowledges_and_qualifies_from_the_page(client, personas, declare, db) -> None:
    inc = declare()
    login(client, personas, "analyst")
    queue = client.get("/cyber/incidents")
    assert inc["reference"] in queue.text
    page = client.get(f"/cyber/incidents/{inc['id']}")
    assert 'id="acknowledge"' in page.text
    token = csrf(page.text)
    client.post(f"/cyber/incidents/{inc['id']}/action",
                data={"csrf_token": token, "action": "status", "status": "acknowledged"})
    client.post(f"/cyber/incidents/{inc['id']}/action",
                data={"csrf_token": token, "action": "qualify", "care": "3", "data": "1",
                      "spread": "0"})
    db.expire_all()
    incident = db.get(Incident, inc["id"])
    assert incident.status == "qualified"
    assert incident.severity == 4
    bad = client.post(f"/cyber/incidents/{inc['id']}/action", follow_redirects=True,
                      data={"csrf_token": token, "action": "status", "status": "draft"})
    assert "passage impossible" in bad.text


def test_pages_follow_the_access_rules(client, personas, declare) -> None:
    inc = declare()
    login(client, personas, "rssi_b")
    assert client.get(f"/cyber/incidents/{inc['id']}").status_code == 404
    assert inc["reference"] not in client.get("/cyber/incidents").text
    client.cookies.clear()
    login(client, personas, "regional")
    page = client.get(f"/cyber/incidents/{inc['id']}")
    assert page.status_code == 200
    assert 'id="acknowledge"' not in page.text  # reads, annotates, does not handle
    assert 'id="note"' in page.text
    client.cookies.clear()
    login(client, personas, "doctor")
    assert client.get("/cyber/incidents/nouveau").status_code == 403


def test_security_profile_page(client, personas, db) -> None:
    from esante.cyber.incidents.models import SecurityProfile

    fin = personas.est["A"].finess
    login(client, personas, "rssi_a")
    page = client.get(f"/cyber/profil/{fin}")
    assert page.status_code == 200
    token = csrf(page.text)
    bad = client.post(f"/cyber/profil/{fin}", data={
        "csrf_token": token, "ref0_name": "Hugo Leroy", "ref0_email": "pas-une-adresse"})
    assert bad.status_code == 422
    assert "valeur invalide" in bad.text
    ok = client.post(f"/cyber/profil/{fin}", follow_redirects=False, data={
        "csrf_token": token, "ref0_name": "Hugo Leroy", "ref0_email": "hugo@chu.example.fr",
        "nis2_in_scope": "on", "offline_backups": "on", "last_restore_test": "2026-10-01"})
    assert ok.status_code == 303
    profile = db.scalar(select(SecurityProfile))
    assert profile.nis2_in_scope
    assert profile.referents[0]["email"] == "hugo@chu.example.fr"
    client.cookies.clear()
    login(client, personas, "rssi_b")
    assert client.get(f"/cyber/profil/{fin}").status_code == 403
