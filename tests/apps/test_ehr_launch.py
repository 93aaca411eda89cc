"""SMART EHR launch: a professional opens an app from a patient's record she may read;
the app's authorisation request names the launch and its token carries that patient.
Someone without access to the record cannot launch it."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.apps.conftest import (
    REDIRECT,
    Record,
    authorize_url,
    consent,
    new_verifier,
    published_app,
    query_of,
)
from tests.core.test_auth import login
from tests.factories import Personas

LAUNCH_URL = "https://ehr-app.exemple.fr/lancement"
SCOPES = [{"scope": "launch", "reason": "recevoir le dossier ouvert par le médecin"},
          {"scope": "patient/Observation.rs", "reason": "afficher les mesures du patient"}]


def test_ehr_launch_gives_the_patient_of_the_record(client: TestClient, db: Session,
                                                     personas: Personas, record: Record) -> None:
    app = published_app(db, personas, name="Cardio Pro", launch_url=LAUNCH_URL, scopes=SCOPES)
    login(client, personas, "doctor")
    page = client.get("/applications/connectees")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    r = client.post(f"/applications/{app.id}/lancer", follow_redirects=False,
                    data={"csrf_token": csrf.group(1), "patient": record.patient})
    assert r.status_code == 303 and r.headers["location"].startswith(LAUNCH_URL)
    params = {k: v[0] for k, v in parse_qs(urlsplit(r.headers["location"]).query).items()}
    assert params["iss"] == "https://testserver/fhir"

    verifier = new_verifier()
    url = authorize_url(app.client_id, verifier, scope="launch patient/Observation.rs",
                        launch=params["launch"])
    q = query_of(consent(client, url))
    tok = client.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": q["code"], "redirect_uri": REDIRECT,
        "client_id": app.client_id, "code_verifier": verifier}).json()
    assert tok["patient"] == record.patient
    bearer = {"Authorization": f"Bearer {tok['access_token']}", "Accept": "application/fhir+json"}
    assert client.get(f"/fhir/Observation/{record.observation}", headers=bearer).status_code == 200
    # The launch's patient only.
    assert client.get("/fhir/Observation", headers=bearer).json()["total"] == 1

    # A launch id that is not this user's, or made up: a French page, nothing granted.
    r = client.get(authorize_url(app.client_id, new_verifier(), scope="launch patient/Observation.rs",
                                 launch="inventé"))
    assert r.status_code == 400 and "lancement inconnu ou expiré" in r.text


def test_no_launch_without_access_to_the_record(client: TestClient, db: Session,
                                                personas: Personas, record: Record) -> None:
    app = published_app(db, personas, name="Cardio Pro", launch_url=LAUNCH_URL, scopes=SCOPES)
    login(client, personas, "other_doctor")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/applications").text)
    assert csrf
    r = client.post(f"/applications/{app.id}/lancer", follow_redirects=False,
                    data={"csrf_token": csrf.group(1), "patient": record.patient})
    assert r.status_code == 403
