"""Apps fixtures: a published app, a citizen's record with data, and a browser-like
client signed in through the real forms."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from esante.apps import service
from esante.apps.models import App
from esante.apps.schemas import AppFileIn
from esante.core.policy import Principal
from esante.fhir.links import link_patient
from esante.fhir.service import Fhir
from tests.factories import Personas
from tests.fhir.conftest import observation_body, patient_body

REDIRECT = "https://app.exemple.fr/retour"
SIRET = "73282932000074"  # a valid SIRET (Luhn)


def app_file(**over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Tensio Suivi", "publisher_name": "Tensio SAS", "siret": SIRET,
        "purpose": "Suivre sa tension artérielle et la partager avec son médecin",
        "category": "suivi", "description": "Carnet de tension connecté.",
        "privacy_url": "https://tensio.exemple.fr/confidentialite",
        "hosting_certificate": "HDS-2024-0042", "support_email": "support@tensio.exemple.fr",
        "scopes": [
            {"scope": "launch/patient", "reason": "savoir de quel dossier il s'agit"},
            {"scope": "openid", "reason": "vous reconnaître à la connexion"},
            {"scope": "fhirUser", "reason": "vous reconnaître à la connexion"},
            {"scope": "offline_access", "reason": "relever vos mesures chaque nuit"},
            {"scope": "patient/Observation.rs", "reason": "afficher vos mesures de tension"},
            {"scope": "patient/Patient.r", "reason": "afficher votre nom dans l'application"},
        ],
        "redirect_uris": [REDIRECT],
    }
    data.update(over)
    return data


def published_app(db: Session, personas: Personas, **over: Any) -> App:
    publisher = Principal.of(personas.users["publisher"])
    reviewer = Principal.of(personas.users["app_reviewer"])
    app = service.create_app(db, publisher, AppFileIn(**app_file(**over)))
    service.submit(db, publisher, app)
    service.decide(db, reviewer, app, "publish", "dossier conforme à la doctrine 1.0")
    db.flush()
    return app


@dataclass
class Record:
    patient: str
    other_patient: str
    observation: str
    document: str


@pytest.fixture
def record(db: Session, personas: Personas) -> Record:
    doctor = Fhir(db, Principal.of(personas.users["doctor"]), base="https://testserver/fhir")
    patient = doctor.create(patient_body("Lefèvre")).resource
    other = doctor.create(patient_body("Autre", birth="1990-01-02")).resource
    obs = doctor.create(observation_body(patient["id"])).resource
    doctor.create(observation_body(other["id"]))
    doc = doctor.create({"resourceType": "DocumentReference", "status": "current",
                         "subject": {"reference": f"Patient/{patient['id']}"},
                         "content": [{"attachment": {"contentType": "text/plain",
                                                     "data": "Q1I="}}]}).resource
    assert patient and other and obs and doc
    link_patient(db, user=personas.users["citizen"], patient_fid=patient["id"])
    db.flush()
    return Record(patient["id"], other["id"], obs["id"], doc["id"])


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF token in the page"
    return m.group(1)


def sign_in(client: TestClient, email: str, password: str) -> None:
    page = client.get("/login")
    r = client.post("/login", data={"csrf_token": csrf_of(page.text), "email": email,
                                    "password": password, "next": "/"}, follow_redirects=False)
    assert r.status_code == 303, r.text


def authorize_url(client_id: str, verifier: str, *, scope: str, state: str = "xyz",
                  redirect_uri: str = REDIRECT, aud: str = "https://testserver/fhir",
                  **extra: str) -> str:
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
              "scope": scope, "state": state, "aud": aud,
              "code_challenge": create_s256_code_challenge(verifier),
              "code_challenge_method": "S256", **extra}
    return "/oauth/authorize?" + urlencode(params)


def consent(client: TestClient, url: str, decision: str = "allow") -> str:
    """Open the consent screen and answer it; returns the redirect Location."""
    page = client.get(url)
    assert page.status_code == 200, page.text
    form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    form = {k: v.replace("&amp;", "&") for k, v in form.items()}
    r = client.post("/oauth/authorize", data={**form, "decision": decision},
                    follow_redirects=False)
    assert r.status_code == 302, r.text
    return r.headers["location"]


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def new_verifier() -> str:
    return secrets.token_urlsafe(48)
