"""Upkeep of the authorisation server: rate limits of the OAuth endpoints, purge of its
bookkeeping tables, re-review reminders."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from esante.apps.models import OAuthCall
from tests.apps.conftest import (
    REDIRECT,
    Record,
    authorize_url,
    consent,
    new_verifier,
    published_app,
    query_of,
    sign_in,
)
from tests.factories import PASSWORD, Personas

SCOPE = "launch/patient openid fhirUser patient/Observation.rs"


def _bad_token(client: TestClient, client_id: str) -> Any:
    return client.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": "nope", "redirect_uri": REDIRECT,
        "client_id": client_id, "code_verifier": new_verifier()})


def test_rate_limit_per_address_answers_429_in_the_oauth_format(
        app: Any, client: TestClient, db: Session, personas: Personas,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app.state.settings, "apps_oauth_ip_per_minute", 3)
    tensio = published_app(db, personas)
    for _ in range(3):
        assert _bad_token(client, tensio.client_id).status_code == 400
    r = _bad_token(client, tensio.client_id)
    assert r.status_code == 429 and r.headers["retry-after"] == "60"
    assert r.json()["error"] == "temporarily_unavailable"
    assert "address" in r.json()["error_description"]
    # Every OAuth endpoint shares the address's allowance.
    for path in ("/oauth/revoke", "/oauth/introspect"):
        r = client.post(path, data={"token": "x", "client_id": tensio.client_id})
        assert r.status_code == 429 and r.json()["error"] == "temporarily_unavailable"
    page = client.get(authorize_url(tensio.client_id, new_verifier(), scope=SCOPE))
    assert page.status_code == 429 and "trop de demandes" in page.text
    # Refused calls are not noted: the allowance comes back when the window passes.
    assert db.scalar(select(func.count()).select_from(OAuthCall)) == 3
    from datetime import timedelta

    for call in db.scalars(select(OAuthCall)):
        call.at -= timedelta(minutes=2)
    db.flush()
    assert _bad_token(client, tensio.client_id).status_code == 400


def test_rate_limit_per_client_counts_only_calls_that_succeeded(
        app: Any, client: TestClient, db: Session, personas: Personas, record: Record,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app.state.settings, "apps_oauth_client_per_minute", 3)
    tensio = published_app(db, personas)
    other = published_app(db, personas, name="Autre Appli")
    # Failures naming the client spend nothing of its allowance (nobody can drain it).
    for _ in range(5):
        assert _bad_token(client, tensio.client_id).status_code == 400
    sign_in(client, "citizen@test.esante.fr", PASSWORD)
    verifier = new_verifier()
    q = query_of(consent(client, authorize_url(tensio.client_id, verifier, scope=SCOPE)))
    token = {"grant_type": "authorization_code", "code": q["code"], "redirect_uri": REDIRECT,
             "client_id": tensio.client_id, "code_verifier": verifier}
    r = client.post("/oauth/token", data=token)  # third success within the minute
    assert r.status_code == 200, r.text
    r = client.post("/oauth/introspect", data={"token": r.json()["access_token"],
                                               "client_id": tensio.client_id})
    assert r.status_code == 429 and r.json()["error"] == "temporarily_unavailable"
    assert "client" in r.json()["error_description"]
    # Another client keeps its own allowance.
    page = client.get(authorize_url(other.client_id, new_verifier(), scope=SCOPE))
    assert page.status_code == 200
