"""App files through the API and pages: bad input refused with the doctrine's reasons and
nothing stored; drafts visible to their publisher and the reviewers only; the catalogue's
search; the way back to an authorisation request after signing in."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from esante.apps.models import App
from tests.apps.conftest import SIRET, app_file, published_app, sign_in
from tests.factories import PASSWORD, Personas


def _apps(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(App)) or 0


def test_bad_app_files_are_refused_and_nothing_is_stored(client: TestClient, db: Session,
                                                         personas: Personas) -> None:
    before = _apps(db)
    r = client.post("/api/apps", json=app_file(siret="73282932000075"),
                    headers=personas.auth("publisher"))
    assert r.status_code == 422 and "SIRET invalide" in r.text
    r = client.post("/api/apps", json=app_file(redirect_uris=["http://app.exemple.fr/cb"]),
                    headers=personas.auth("publisher"))
    assert r.status_code == 422 and "SEC-01" in r.text
    r = client.post("/api/apps", json=app_file(scopes=[{"scope": "patient/*.everything"}]),
                    headers=personas.auth("publisher"))
    assert r.status_code == 422 and "portée SMART inconnue" in r.text
    assert _apps(db) == before


def test_checks_cite_the_doctrine_and_block_publication(client: TestClient, db: Session,
                                                        personas: Personas) -> None:
    body = app_file(hosting_certificate="", scopes=[
        {"scope": "patient/DocumentReference.rs", "reason": "court"}])
    made = client.post("/api/apps", json=body, headers=personas.auth("publisher")).json()
    failed = {c["requirement"] for c in made["checks"] if not c["ok"]}
    assert failed == {"SEC-03", "ETH-01", "ETH-02"}
    assert client.post(f"/api/apps/{made['id']}/submit",
                       headers=personas.auth("publisher")).status_code == 200
    r = client.post(f"/api/apps/{made['id']}/decision", headers=personas.auth("app_reviewer"),
                    json={"decision": "publish", "reasons": "tentative de publication"})
    assert r.status_code == 409 and "SEC-03" in r.text
    doctrine = client.get("/api/apps/doctrine").json()
    assert {"SEC-03", "ETH-01", "ETH-02", "ADM-01"} <= {q["id"] for q in doctrine["requirements"]}


def test_pages_catalogue_and_visibility(client: TestClient, db: Session,
                                        personas: Personas) -> None:
    app = published_app(db, personas)
    page = client.get("/applications?q=tension")
    assert page.status_code == 200 and "Tensio Suivi" in page.text
    assert "Tensio Suivi" not in client.get("/applications?q=vaccin").text
    assert "Tensio Suivi" not in client.get("/applications?categorie=prevention").text
    detail = client.get(f"/applications/{app.id}")
    assert detail.status_code == 200 and "afficher vos mesures de tension" in detail.text
    assert "SEC-01" in detail.text and SIRET in detail.text
    assert "SEC-01" in client.get("/applications/doctrine").text

    draft = client.post("/api/apps", json=app_file(name="Brouillon"),
                        headers=personas.auth("publisher")).json()
    assert client.get(f"/applications/{draft['id']}", follow_redirects=False).status_code == 303
    sign_in(client, "citizen@test.esante.fr", PASSWORD)
    assert client.get(f"/applications/{draft['id']}").status_code == 403
    r = client.get(f"/api/apps/{draft['id']}", headers=personas.auth("app_reviewer"))
    assert r.status_code == 200


def test_login_then_back_to_the_authorisation_request(client: TestClient, db: Session,
                                                      personas: Personas) -> None:
    app = published_app(db, personas)
    url = f"/oauth/authorize?response_type=code&client_id={app.client_id}&state=s1"
    r = client.get(url, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=/oauth/reprise/")
    resume = r.headers["location"].split("next=")[1]
    back = client.get(resume, follow_redirects=False)
    assert back.status_code == 303 and back.headers["location"].endswith(
        f"client_id={app.client_id}&state=s1")
    # used once
    assert client.get(resume, follow_redirects=False).headers["location"] == "/"


def test_periodic_review_is_due_after_its_date(client: TestClient, db: Session,
                                               personas: Personas) -> None:
    from datetime import date, timedelta

    from esante.apps import service

    app = published_app(db, personas)
    assert app.review_due_on == date.today() + timedelta(days=365)
    assert app not in service.due_for_review(db)
    assert app in service.due_for_review(db, on=app.review_due_on)
    app.review_due_on = date.today() - timedelta(days=1)
    db.flush()
    from tests.core.test_auth import login

    login(client, personas, "app_reviewer")  # password, then the second factor
    page = client.get("/applications/instruction")
    assert page.status_code == 200
    due = page.text.split("Réexamen périodique dû")[1].split("Publiées")[0]
    assert "Tensio Suivi" in due
