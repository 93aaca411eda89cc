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


def test_purge_deletes_what_expired_and_keeps_the_rest(
        client: TestClient, db: Session, personas: Personas, record: Record) -> None:
    from datetime import timedelta

    from esante.apps import upkeep
    from esante.apps.models import (
        AppGrant,
        AuthorizationCode,
        ClientAssertion,
        IssuedToken,
        LaunchContext,
        PendingAuthorization,
    )
    from esante.core.db import utcnow

    tensio = published_app(db, personas)
    citizen = personas.users["citizen"]
    now = utcnow()
    past, future = now - timedelta(minutes=1), now + timedelta(minutes=10)
    grant = AppGrant(app_id=tensio.id, user_id=citizen.id, scope="openid")
    db.add(grant)
    db.flush()
    for i, when in enumerate((past, future)):
        db.add(PendingAuthorization(id=f"p{i}", query="a=b", expires_at=when))
        db.add(LaunchContext(id=f"l{i}", app_id=tensio.id, user_id=citizen.id,
                             patient_fid=record.patient, expires_at=when))
        db.add(ClientAssertion(jti=f"sub:{i}", app_id=tensio.id, expires_at=when))
        code = AuthorizationCode(code_hash=f"h{i}", app_id=tensio.id, grant_id=grant.id,
                                 user_id=citizen.id, redirect_uri=REDIRECT, scope="openid",
                                 expires_at=when)
        db.add(code)
        db.flush()
        db.add(IssuedToken(kind="access", jti=f"j{i}", app_id=tensio.id, grant_id=grant.id,
                           code_id=code.id, user_id=citizen.id, scope="openid",
                           expires_at=when))
        db.add(OAuthCall(endpoint="token", ip="10.0.0.1",
                         at=now - timedelta(days=2) if when == past else now))
    db.flush()
    counts = upkeep.purge(db)
    assert counts == {"pending": 1, "launches": 1, "assertions": 1, "codes": 1, "tokens": 1,
                      "calls": 1}
    for model in (PendingAuthorization, LaunchContext, ClientAssertion, AuthorizationCode,
                  IssuedToken, OAuthCall):
        assert db.scalar(select(func.count()).select_from(model)) == 1, model
    assert db.get(PendingAuthorization, "p1") is not None
    assert db.get(AppGrant, grant.id) is not None  # the person's connection stays
    assert upkeep.purge(db) == dict.fromkeys(counts, 0)  # nothing left to purge


def test_re_review_reminder_goes_to_reviewers_and_publisher_once_per_due_date(
        db: Session, personas: Personas) -> None:
    from datetime import timedelta

    from esante.apps import upkeep
    from esante.core.db import utcnow
    from esante.core.notifications.models import Notification

    tensio = published_app(db, personas)
    later = published_app(db, personas, name="Pas Encore")
    today = utcnow().date()
    tensio.review_due_on = today - timedelta(days=1)
    assert later.review_due_on is not None and later.review_due_on > today
    db.flush()

    def notes(who: str) -> list[Notification]:
        return list(db.scalars(select(Notification).where(
            Notification.user_id == personas.users[who].id,
            Notification.title.like("Réexamen périodique dû%"))))

    assert [a.id for a in upkeep.remind_due_reviews(db)] == [tensio.id]
    for who in ("app_reviewer", "publisher"):
        got = notes(who)
        assert len(got) == 1 and "Tensio Suivi" in got[0].title
        assert got[0].link == f"/applications/{tensio.id}"
    assert "Mettez à jour le dossier" in notes("publisher")[0].body
    assert "Réexaminez le dossier" in notes("app_reviewer")[0].body
    assert notes("citizen") == [] and notes("doctor") == []
    # Once per due date: the next passes send nothing.
    assert upkeep.remind_due_reviews(db) == []
    assert len(notes("app_reviewer")) == 1
    # A new due date (after a new publication) is announced again.
    tensio.review_due_on = today
    db.flush()
    assert [a.id for a in upkeep.remind_due_reviews(db)] == [tensio.id]
    assert len(notes("publisher")) == 2
    # The later app's date comes: its turn.
    assert [a.id for a in upkeep.remind_due_reviews(db, on=later.review_due_on)] == [later.id]
