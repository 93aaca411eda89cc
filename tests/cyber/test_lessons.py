"""Lessons learned: the cell writes a lesson from a closed incident, the anonymisation check
refuses names, FINESS numbers, IP and e-mail addresses, publication reaches every
establishment, the source incident stays with the cell; search by category and tag; pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from esante.core.accounts import service as accounts
from esante.core.audit import Actor
from esante.core.identifiers import finess_key
from esante.core.notifications.models import Notification
from esante.cyber.lessons.anonymity import Known, scan
from tests.core.test_auth import csrf_of, login
from tests.factories import PASSWORD, Personas

URL = "/api/cyber/lessons"
READERS = ("rssi_a", "rssi_b", "director_a", "regional", "analyst")
NOT_READERS = ("citizen", "doctor", "other_doctor", "admin", "outsider")
CLEAN = {
    "title": "Rançongiciel : restaurer l'annuaire depuis une sauvegarde hors ligne",
    "summary": "Un rançongiciel a chiffré les serveurs ; la restauration a pris neuf jours.",
    "narrative": "Le week-end, les serveurs de fichiers ont été chiffrés.\n"
                 "L'annuaire a été reconstruit à partir d'une sauvegarde hors ligne.",
    "recommendations": "Tester la restauration de l'annuaire deux fois par an.",
    "tags": ["rançongiciel", "Active Directory", "sauvegardes"],
}


@pytest.fixture
def closed_incident(client: TestClient, personas: Personas,
                    declare: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    incident = declare()
    cell = personas.auth("analyst")
    url = f"/api/cyber/incidents/{incident['id']}"
    assert client.post(f"{url}/qualification", headers=cell,
                       json={"care": 2, "data": 1, "spread": 0}).status_code == 200
    r = client.post(f"{url}/status", headers=cell,
                    json={"status": "closed", "reason": "Sauvegardes restaurées."})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


@pytest.fixture
def draft(client: TestClient, personas: Personas,
          closed_incident: dict[str, Any]) -> dict[str, Any]:
    r = client.post(URL, headers=personas.auth("analyst"),
                    json={"incident_id": closed_incident["id"], **CLEAN})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def publish(client: TestClient, personas: Personas, lesson_id: int) -> dict[str, Any]:
    cell = personas.auth("analyst")
    checked = client.post(f"{URL}/{lesson_id}/check", headers=cell)
    assert checked.status_code == 200, checked.text
    assert checked.json()["status"] == "checked"
    done = client.post(f"{URL}/{lesson_id}/publish", headers=cell)
    assert done.status_code == 200, done.text
    return done.json()  # type: ignore[no-any-return]


def test_a_published_lesson_reaches_every_establishment_without_its_source(
        client: TestClient, personas: Personas, draft: dict[str, Any],
        closed_incident: dict[str, Any], db: Session) -> None:
    assert draft["status"] == "draft"
    assert draft["categories"] == ["data", "operations"]  # taken from the incident
    assert draft["tags"] == ["active directory", "rançongiciel", "sauvegardes"]
    assert draft["source_incident_id"] == closed_incident["id"]
    # A draft is the cell's alone.
    for who in ("rssi_a", "rssi_b", "regional"):
        assert client.get(f"{URL}/{draft['id']}", headers=personas.auth(who)).status_code == 404
        assert client.get(URL, headers=personas.auth(who)).json()["total"] == 0
    # Publishing skips no step.
    early = client.post(f"{URL}/{draft['id']}/publish", headers=personas.auth("analyst"))
    assert early.status_code == 422
    assert "vérifiez d'abord" in early.json()["detail"]

    published = publish(client, personas, draft["id"])
    assert published["status"] == "published"
    for who in READERS:
        r = client.get(f"{URL}/{draft['id']}", headers=personas.auth(who))
        assert r.status_code == 200, (who, r.text)
        listed = client.get(URL, headers=personas.auth(who)).json()
        assert [x["id"] for x in listed["items"]] == [draft["id"]]
        if who != "analyst":
            assert r.json()["source_incident_id"] is None
            assert r.json()["source_incident_reference"] is None
            assert closed_incident["reference"] not in r.text
    cell_view = client.get(f"{URL}/{draft['id']}", headers=personas.auth("analyst")).json()
    assert cell_view["source_incident_reference"] == closed_incident["reference"]
    for who in NOT_READERS:
        assert client.get(URL, headers=personas.auth(who)).status_code == 403, who
        assert client.get(f"{URL}/{draft['id']}",
                          headers=personas.auth(who)).status_code == 404, who
    # Security officers are told in the app.
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == personas.users["rssi_b"].id,
        Notification.link == f"/cyber/retours-experience/{draft['id']}")) == 1
    # A published lesson is withdrawn before any edit.
    cell = personas.auth("analyst")
    assert client.patch(f"{URL}/{draft['id']}", headers=cell,
                        json={"title": "Autre titre"}).status_code == 409
    assert client.post(f"{URL}/{draft['id']}/withdraw", headers=cell).json()["status"] == \
        "withdrawn"
    assert client.get(URL, headers=personas.auth("rssi_b")).json()["total"] == 0


def test_only_the_cell_writes_and_only_from_a_closed_incident(
        client: TestClient, personas: Personas, declare: Callable[..., dict[str, Any]],
        draft: dict[str, Any]) -> None:
    still_open = declare()
    r = client.post(URL, headers=personas.auth("analyst"),
                    json={"incident_id": still_open["id"], **CLEAN})
    assert r.status_code == 422
    assert "incident clos" in r.json()["detail"]
    for who in ("rssi_a", "director_a", "regional", "admin", "doctor"):
        assert client.post(URL, headers=personas.auth(who), json={
            "incident_id": still_open["id"], **CLEAN}).status_code == 403, who
    assert client.post(f"{URL}/{draft['id']}/check",
                       headers=personas.auth("rssi_a")).status_code == 404
    bad = client.post(URL, headers=personas.auth("analyst"),
                      json={"incident_id": still_open["id"], **CLEAN, "categories": ["x"]})
    assert bad.status_code == 422


def _user(db: Session, name: str) -> None:
    accounts.create_user(db, actor=Actor.system("tests"), email="jm@test.esante.fr",
                         password=PASSWORD, display_name=name)
    db.flush()


@pytest.mark.parametrize(("field", "text", "expected"), [
    ("narrative", "Le compte admin@chu-exemple.fr a été compromis.", "adresse e-mail"),
    ("narrative", "Le serveur 192.168.12.40 chiffrait les partages.", "adresse IP « 192.168.12.40"),
    ("recommendations", "Bloquer 2001:db8::17 en sortie.", "adresse IP « 2001:db8::17"),
    ("summary", "Établissement FINESS {finess_b} touché.", "numéro FINESS « {finess_b}"),
    ("summary", "Une clinique (FINESS {unknown}) aussi.", "numéro FINESS « {unknown}"),
    ("narrative", "Au CH de Lyon-Test, la messagerie est tombée.", "nom d'établissement"),
    ("narrative", "Appel de Jeanne Martin à 3 h.", "nom d'un utilisateur de la plateforme"),
    ("narrative", "M. Dupont a ouvert la pièce jointe.", "nom de personne « M. Dupont"),
    ("narrative", "La secrétaire de Mme a cliqué.", "nom de personne « Mme"),
    ("narrative", "Le Dr de garde a prévenu l'astreinte.", "nom de personne « Dr"),
    ("narrative", "Le docteur Lefèvre a prévenu l'astreinte.", "nom de personne « docteur Lefèvre"),
    ("narrative", "Pierre Lambert, technicien, a isolé le réseau.", "nom de personne « Pierre Lambert"),
    ("title", "Ce que DURAND Sophie a appris", "nom de personne « DURAND Sophie"),
    ("tags", ["rançongiciel", "cas Jean Moulin"], "nom de personne « Jean Moulin"),
])
def test_the_anonymisation_check_refuses_each_kind(
        client: TestClient, personas: Personas, draft: dict[str, Any], db: Session,
        field: str, text: Any, expected: str) -> None:
    _user(db, "Jeanne Martin")
    unknown = "13099999" + finess_key("13099999")
    values = {"finess_b": personas.est["B"].finess, "unknown": unknown}
    text = [t.format(**values) for t in text] if isinstance(text, list) else text.format(**values)
    cell = personas.auth("analyst")
    url = f"{URL}/{draft['id']}"
    assert client.patch(url, headers=cell, json={field: text}).status_code == 200
    r = client.post(f"{url}/check", headers=cell)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "not-anonymised"
    assert body["detail"].startswith("texte non anonymisé, publication refusée")
    assert expected.format(**values) in body["detail"], body["detail"]
    label = {"narrative": "déroulé", "summary": "résumé", "recommendations": "recommandations",
             "title": "titre", "tags": "étiquettes"}[field]
    assert f"({label}, ligne 1)" in body["detail"]
    lesson = client.get(url, headers=cell).json()
    assert lesson["status"] == "draft"
    assert client.post(f"{url}/publish", headers=cell).status_code == 422
    assert client.get(URL, headers=personas.auth("rssi_b")).json()["total"] == 0


def test_a_clean_text_passes_and_no_false_alarm_on_common_words() -> None:
    known = Known(frozenset(), frozenset({("ch", "de", "lyon", "test")}),
                  frozenset({("jeanne", "martin")}))
    text = ("Plan de reprise (PRA) et plan de DR testés à 10:30:00 ; version 1.2.3.4.5 ; "
            "le docteur de garde a appelé ; la Pierre angulaire : les sauvegardes. "
            "Le compte Admin et l'analyste ont suivi la procédure 2024-118.")
    assert scan({"déroulé": text}, known) == []


def test_search_by_category_tag_and_words(client: TestClient, personas: Personas,
                                          closed_incident: dict[str, Any]) -> None:
    cell = personas.auth("analyst")
    ids = []
    for title, categories, tags in (
            ("Hameçonnage ciblé de la direction", ["data"], ["hameçonnage"]),
            ("Panne du prestataire d'hébergement", ["operations", "spread"], ["prestataire"]),
            ("Rançongiciel et sauvegardes", ["operations"], ["rançongiciel", "sauvegardes"])):
        r = client.post(URL, headers=cell, json={"incident_id": closed_incident["id"],
                                                 "title": title, "categories": categories,
                                                 "tags": tags, "summary": "Résumé."})
        assert r.status_code == 201, r.text
        publish(client, personas, r.json()["id"])
        ids.append(r.json()["id"])
    rssi = personas.auth("rssi_b")

    def found(**params: str) -> list[int]:
        r = client.get(URL, headers=rssi, params=params)
        assert r.status_code == 200, r.text
        return sorted(x["id"] for x in r.json()["items"])

    assert found(category="operations") == sorted(ids[1:])
    assert found(category="data") == [ids[0]]
    assert found(tag="Sauvegardes") == [ids[2]]
    assert found(category="operations", tag="prestataire") == [ids[1]]
    assert found(q="hameçonnage") == [ids[0]]
    assert found(category="care_safety") == []
    assert client.get(URL, headers=rssi, params={"category": "nope"}).status_code == 422
    tags = client.get(f"{URL}/tags", headers=rssi).json()
    assert {"tag": "sauvegardes", "lessons": 1} in tags


def test_pages_for_the_cell_and_for_an_establishment(
        client: TestClient, personas: Personas, closed_incident: dict[str, Any]) -> None:
    login(client, personas, "analyst")
    page = client.get("/cyber/retours-experience/nouveau")
    assert page.status_code == 200
    assert closed_incident["reference"] in page.text
    r = client.post("/cyber/retours-experience/nouveau", data={
        "csrf_token": csrf_of(page.text), "incident_id": str(closed_incident["id"]),
        "title": "Leçon du rançongiciel", "summary": "Résumé sans nom.",
        "narrative": "Le serveur 10.0.0.5 a été chiffré.", "recommendations": "",
        "categories": ["operations"], "tags": "rançongiciel, annuaire"},
        follow_redirects=False)
    assert r.status_code == 303, r.text
    editor_url = r.headers["location"]
    editor = client.get(editor_url)
    assert editor.status_code == 200
    assert "Brouillon" in editor.text
    form = {"csrf_token": csrf_of(editor.text), "title": "Leçon du rançongiciel",
            "summary": "Résumé sans nom.", "narrative": "Le serveur 10.0.0.5 a été chiffré.",
            "recommendations": "", "categories": ["operations"],
            "tags": "rançongiciel, annuaire", "version": "", "action": "check"}
    refused = client.post(editor_url, data=form)
    assert refused.status_code == 422
    assert 'id="findings"' in refused.text
    assert "10.0.0.5" in refused.text and "déroulé, ligne 1" in refused.text
    form["narrative"] = "Un serveur de fichiers a été chiffré."
    assert client.post(editor_url, data=form, follow_redirects=False).status_code == 303
    checked = client.get(editor_url)
    assert "Anonymisation vérifiée" in checked.text and 'id="publish"' in checked.text
    done = client.post(editor_url, data={**form, "csrf_token": csrf_of(checked.text),
                                         "action": "publish"}, follow_redirects=False)
    assert done.status_code == 303
    lesson_url = done.headers["location"]
    assert 'id="lesson-source"' in client.get(lesson_url).text
    listing = client.get("/cyber/retours-experience?tag=annuaire")
    assert "Leçon du rançongiciel" in listing.text

    client.cookies.clear()
    login(client, personas, "rssi_b")
    seen = client.get(lesson_url)
    assert seen.status_code == 200
    assert "Leçon du rançongiciel" in seen.text
    assert 'id="lesson-source"' not in seen.text
    assert closed_incident["reference"] not in seen.text
    assert client.get("/cyber/retours-experience?category=operations").status_code == 200
    assert client.get("/cyber/retours-experience/nouveau").status_code == 403
    assert client.get(f"{lesson_url}/modifier").status_code == 403

    client.cookies.clear()
    login(client, personas, "doctor")
    assert client.get("/cyber/retours-experience").status_code == 403
