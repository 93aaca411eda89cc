"""The doctrine's consultation: an administrator opens a version, signed-in users comment
on its requirements until the closing date, the administrator answers, then publishes."""

from __future__ import annotations

import re
from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from esante.apps.models import DoctrineVersion
from tests.apps.conftest import sign_in
from tests.factories import PASSWORD, Personas

ENDS = (date.today() + timedelta(days=30)).isoformat()


def test_consultation_comments_answers_and_publication(client: TestClient, db: Session,
                                                       personas: Personas) -> None:
    r = client.post("/api/apps/doctrine/versions", headers=personas.auth("admin"),
                    json={"version": "1.1", "title": "Doctrine 1.1 en consultation", "ends_on": ENDS})
    assert r.status_code == 201, r.text
    sec01 = next(q for q in r.json()["requirements"] if q["id"] == "SEC-01")

    # Any signed-in user comments, through the API or the page.
    r = client.post(f"/api/apps/doctrine/requirements/{sec01['requirement_id']}/comments",
                    headers=personas.auth("publisher"), json={"body": "Et les applications natives ?"})
    assert r.status_code == 201
    comment_id = r.json()["id"]
    sign_in(client, "citizen@test.esante.fr", PASSWORD)
    page = client.get("/applications/doctrine/versions/1.1")
    assert "Consultation ouverte" in page.text and "Et les applications natives ?" in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    r = client.post(f"/applications/doctrine/exigences/{sec01['requirement_id']}/commentaires",
                    data={"csrf_token": csrf.group(1), "body": "Merci pour la clarté."},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/applications/doctrine/versions/1.1"

    # Only the administrator answers, and publishes.
    body = {"body": "Les adresses de bouclage locales sont admises pour les applications natives."}
    assert client.post(f"/api/apps/doctrine/comments/{comment_id}/answer",
                       headers=personas.auth("publisher"), json=body).status_code == 403
    assert client.post(f"/api/apps/doctrine/comments/{comment_id}/answer",
                       headers=personas.auth("admin"), json=body).status_code == 200
    out = client.get("/api/apps/doctrine/versions/1.1").json()
    comments = next(q for q in out["requirements"] if q["id"] == "SEC-01")["comments"]
    assert [c["answer"] for c in comments] == [body["body"], None]
    assert client.get("/api/apps/doctrine").json()["version"] == "1.0"  # not yet in force
    assert client.post("/api/apps/doctrine/versions/1.1/publish",
                       headers=personas.auth("admin")).status_code == 200
    assert client.get("/api/apps/doctrine").json()["version"] == "1.1"

    # Published: the consultation is closed.
    r = client.post(f"/api/apps/doctrine/requirements/{sec01['requirement_id']}/comments",
                    headers=personas.auth("publisher"), json={"body": "Trop tard ?"})
    assert r.status_code == 409 and "close" in r.text


def test_consultation_bad_input(client: TestClient, db: Session, personas: Personas) -> None:
    past = (date.today() - timedelta(days=1)).isoformat()
    r = client.post("/api/apps/doctrine/versions", headers=personas.auth("admin"),
                    json={"version": "2.0", "title": "Doctrine 2.0", "ends_on": past})
    assert r.status_code == 422 and "après aujourd'hui" in r.text
    r = client.post("/api/apps/doctrine/versions", headers=personas.auth("admin"),
                    json={"version": "1.0", "title": "Doctrine 1.0 bis", "ends_on": ENDS})
    assert r.status_code == 409
    assert client.get("/api/apps/doctrine/versions/9.9").status_code == 404
    assert db.query(DoctrineVersion).filter(DoctrineVersion.version == "2.0").count() == 0
