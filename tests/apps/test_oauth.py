"""The authorisation server in-process: authorisation code + PKCE with the citizen's
consent, SMART patient context, JWT access tokens at /fhir limited by their scopes,
refresh with rotation, revocation, introspection, and the errors the specifications
define for bad requests."""

from __future__ import annotations

from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from esante.apps.models import AppGrant, IssuedToken
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

SCOPE = "launch/patient openid fhirUser offline_access patient/Observation.rs patient/Patient.r"
FHIR = "application/fhir+json"


def _tokens(client: TestClient, client_id: str, scope: str = SCOPE) -> dict:  # type: ignore[type-arg]
    verifier = new_verifier()
    location = consent(client, authorize_url(client_id, verifier, scope=scope))
    q = query_of(location)
    assert location.startswith(REDIRECT) and q["state"] == "xyz"
    r = client.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": q["code"], "redirect_uri": REDIRECT,
        "client_id": client_id, "code_verifier": verifier})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_full_flow_with_patient_context_and_scopes(client: TestClient, db: Session,
                                                    personas: Personas, record: Record) -> None:
    app = published_app(db, personas)
    sign_in(client, "citizen@test.esante.fr", PASSWORD)
    page = client.get(authorize_url(app.client_id, new_verifier(), scope=SCOPE))
    assert "Tensio Suivi demande l'accès à vos données" in page.text
    assert "lire et rechercher dans vos mesures et résultats" in page.text
    assert "afficher vos mesures de tension" in page.text  # the declared reason

    tok = _tokens(client, app.client_id)
    assert tok["token_type"] == "Bearer" and tok["patient"] == record.patient
    assert tok["refresh_token"] and tok["id_token"]
    assert tok["fhirUser"].endswith(f"/fhir/Patient/{record.patient}")

    # A JWT signed by a key of the published JWKS, for this FHIR server.
    keyset = KeySet.import_key_set(client.get("/oauth/jwks").json())
    claims = jwt.decode(tok["access_token"], keyset).claims
    assert claims["aud"] == "https://testserver/fhir" and claims["patient"] == record.patient
    id_claims = jwt.decode(tok["id_token"], keyset).claims
    assert id_claims["aud"] == [app.client_id] and id_claims["fhirUser"] == tok["fhirUser"]

    bearer = {"Authorization": f"Bearer {tok['access_token']}", "Accept": FHIR}
    assert client.get(f"/fhir/Observation/{record.observation}", headers=bearer).status_code == 200
    assert client.get(f"/fhir/Patient/{record.patient}", headers=bearer).status_code == 200
    found = client.get("/fhir/Observation", headers=bearer).json()
    assert [e["resource"]["id"] for e in found["entry"]] == [record.observation]
    # Not granted: documents; another patient's record; writing.
    r = client.get(f"/fhir/DocumentReference/{record.document}", headers=bearer)
    assert r.status_code == 403 and r.json()["resourceType"] == "OperationOutcome"
    assert client.get("/fhir/DocumentReference", headers=bearer).status_code == 403
    assert client.get(f"/fhir/Patient/{record.other_patient}", headers=bearer).status_code == 403
    obs = client.get(f"/fhir/Observation/{record.observation}", headers=bearer).json()
    assert client.put(f"/fhir/Observation/{record.observation}", json=obs,
                      headers={**bearer, "Content-Type": FHIR}).status_code == 403
    # The platform's own API does not take SMART tokens.
    assert client.get("/api/me", headers=bearer).status_code == 401

    # The app's FHIR reads are in the person's access history, under the app's name.
    connections = client.get("/applications/connectees")
    assert connections.status_code == 200 and "Tensio Suivi" in connections.text
    assert "fhir.read" in connections.text


def test_refresh_rotates_and_a_replayed_refresh_token_ends_the_grant(
        client: TestClient, db: Session, personas: Personas, record: Record) -> None:
    app = published_app(db, personas)
    sign_in(client, "citizen@test.esante.fr", PASSWORD)
    tok = _tokens(client, app.client_id)
    r = client.post("/oauth/token", data={"grant_type": "refresh_token", "client_id": app.client_id,
                                          "refresh_token": tok["refresh_token"],
                                          "scope": "patient/Observation.rs offline_access"})
    assert r.status_code == 200, r.text
    new = r.json()
    assert new["refresh_token"] != tok["refresh_token"]
    assert new["scope"] == "patient/Observation.rs offline_access"
    bearer = {"Authorization": f"Bearer {new['access_token']}", "Accept": FHIR}
    assert client.get(f"/fhir/Observation/{record.observation}", headers=bearer).status_code == 200
    # Narrowed: the patient's identity is no longer readable with this token.
    assert client.get(f"/fhir/Patient/{record.patient}", headers=bearer).status_code == 403

    # Escalation on refresh: refused.
    r = client.post("/oauth/token", data={"grant_type": "refresh_token", "client_id": app.client_id,
                                          "refresh_token": new["refresh_token"],
                                          "scope": "patient/*.cruds"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_scope"

    # The old refresh token again: refused, and everything of that grant revoked.
    r = client.post("/oauth/token", data={"grant_type": "refresh_token", "client_id": app.client_id,
                                          "refresh_token": tok["refresh_token"]})
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert client.get(f"/fhir/Observation/{record.observation}", headers=bearer).status_code == 401


def test_code_used_twice_revokes_what_it_issued(client: TestClient, db: Session,
                                               personas: Personas, record: Record) -> None:
    app = published_app(db, personas)
    sign_in(client, "citizen@test.esante.fr", PASSWORD)
    verifier = new_verifier()
    q = query_of(consent(client, authorize_url(app.client_id, verifier, scope=SCOPE)))
    form = {"grant_type": "authorization_code", "code": q["code"], "redirect_uri": REDIRECT,
            "client_id": app.client_id, "code_verifier": verifier}
    first = client.post("/oauth/token", data=form)
    assert first.status_code == 200
    bearer = {"Authorization": f"Bearer {first.json()['access_token']}", "Accept": FHIR}
    assert client.get(f"/fhir/Observation/{record.observation}", headers=bearer).status_code == 200
    again = client.post("/oauth/token", data=form)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert client.get(f"/fhir/Observation/{record.observation}", headers=bearer).status_code == 401
    live = db.scalar(select(func.count()).select_from(IssuedToken).where(
        IssuedToken.app_id == app.id, IssuedToken.revoked_at.is_(None)))
    assert live == 0


def test_pkce_errors_and_unregistered_redirect(client: TestClient, db: Session,
                                               personas: Personas, record: Record) -> None:
    app = published_app(db, personas)
    sign_in(client, "citizen@test.esante.fr", PASSWORD)
    # Unregistered redirect URI: a French page, no redirect, nothing granted.
    r = client.get(authorize_url(app.client_id, new_verifier(), scope=SCOPE,
                                 redirect_uri="https://pirate.exemple/vol"))
    assert r.status_code == 400 and "Autorisation impossible" in r.text
    assert "pirate" not in r.headers.get("location", "")
    # Unknown app: the same.
    r = client.get(authorize_url("inconnue", new_verifier(), scope=SCOPE))
    assert r.status_code == 400 and "application inconnue" in r.text
    # No PKCE: the error goes back to the app.
    url = authorize_url(app.client_id, new_verifier(), scope=SCOPE)
    url = url.split("&code_challenge=")[0]
    r = client.get(url, follow_redirects=False)
    assert r.status_code == 302 and query_of(r.headers["location"])["error"] == "invalid_request"
    # Scope not declared in the app's file.
    r = client.get(authorize_url(app.client_id, new_verifier(), scope="patient/*.cruds"),
                   follow_redirects=False)
    assert r.status_code == 302 and query_of(r.headers["location"])["error"] == "invalid_scope"
    # Wrong verifier at the token endpoint.
    q = query_of(consent(client, authorize_url(app.client_id, new_verifier(), scope=SCOPE)))
    r = client.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": q["code"], "redirect_uri": REDIRECT,
        "client_id": app.client_id, "code_verifier": new_verifier()})
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert db.scalar(select(func.count()).select_from(IssuedToken)) == 0
    # The person refuses: access_denied, no grant.
    grants = db.scalar(select(func.count()).select_from(AppGrant))
    loc = consent(client, authorize_url(app.client_id, new_verifier(), scope=SCOPE), "deny")
    assert query_of(loc)["error"] == "access_denied"
    assert db.scalar(select(func.count()).select_from(AppGrant)) == grants


def test_revocation_introspection_and_suspension(client: TestClient, db: Session,
                                                  personas: Personas, record: Record) -> None:
    app = published_app(db, personas)
    sign_in(client, "citizen@test.esante.fr", PASSWORD)
    tok = _tokens(client, app.client_id)
    seen = client.post("/oauth/introspect", data={"token": tok["access_token"],
                                                  "client_id": app.client_id}).json()
    assert seen["active"] is True and seen["patient"] == record.patient
    assert seen["client_id"] == app.client_id and "patient/Observation.rs" in seen["scope"]
    assert client.post("/oauth/revoke", data={"token": tok["access_token"],
                                              "client_id": app.client_id}).status_code == 200
    assert client.post("/oauth/introspect", data={"token": tok["access_token"],
                                                  "client_id": app.client_id}).json() == {
        "active": False}
    bearer = {"Authorization": f"Bearer {tok['access_token']}", "Accept": FHIR}
    assert client.get(f"/fhir/Observation/{record.observation}", headers=bearer).status_code == 401

    # Suspension: every token of the app stops at once; the app can no longer ask.
    tok2 = _tokens(client, app.client_id)
    bearer = {"Authorization": f"Bearer {tok2['access_token']}", "Accept": FHIR}
    assert client.get(f"/fhir/Observation/{record.observation}", headers=bearer).status_code == 200
    from esante.apps import service
    from esante.core.policy import Principal

    service.decide(db, Principal.of(personas.users["app_reviewer"]), app, "suspend",
                   "fuite de données signalée par l'éditeur")
    db.flush()
    assert client.get(f"/fhir/Observation/{record.observation}", headers=bearer).status_code == 401
    r = client.post("/oauth/token", data={"grant_type": "refresh_token", "client_id": app.client_id,
                                          "refresh_token": tok2["refresh_token"]})
    assert r.status_code in (400, 401) and r.json()["error"] == "invalid_client"


def test_discovery_documents(client: TestClient) -> None:
    conf = client.get("/fhir/.well-known/smart-configuration").json()
    assert conf["authorization_endpoint"] == "https://testserver/oauth/authorize"
    assert conf["code_challenge_methods_supported"] == ["S256"]
    assert "launch-standalone" in conf["capabilities"]
    oidc = client.get("/.well-known/openid-configuration").json()
    assert oidc["jwks_uri"] == "https://testserver/oauth/jwks"
    assert client.get("/oauth/jwks").json()["keys"][0]["kty"] == "RSA"


def test_key_rotation_keeps_old_tokens_valid_and_signs_with_the_new_key(
        client: TestClient, db: Session, personas: Personas, record: Record) -> None:
    app = published_app(db, personas)
    sign_in(client, "citizen@test.esante.fr", PASSWORD)
    old = _tokens(client, app.client_id)
    r = client.post("/api/apps/keys/rotate", headers=personas.auth("admin"))
    assert r.status_code == 200
    new_kid = r.json()["kid"]
    published = client.get("/oauth/jwks").json()["keys"]
    assert len(published) == 2 and new_kid in {k["kid"] for k in published}
    bearer = {"Authorization": f"Bearer {old['access_token']}", "Accept": FHIR}
    assert client.get(f"/fhir/Observation/{record.observation}", headers=bearer).status_code == 200
    fresh = _tokens(client, app.client_id)
    from joserfc import jws

    assert jws.extract_compact(fresh["access_token"].encode()).headers()["kid"] == new_kid
    assert jws.extract_compact(old["access_token"].encode()).headers()["kid"] != new_kid


def test_one_click_revoke_from_the_connected_apps_page(client: TestClient, db: Session,
                                                       personas: Personas, record: Record) -> None:
    import re

    app = published_app(db, personas)
    sign_in(client, "citizen@test.esante.fr", PASSWORD)
    tok = _tokens(client, app.client_id)
    page = client.get("/applications/connectees")
    action = re.search(r'action="(/applications/connectees/\d+/retirer)"', page.text)
    assert action and "lire et rechercher dans vos mesures et résultats" in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    r = client.post(action.group(1), data={"csrf_token": csrf.group(1)}, follow_redirects=False)
    assert r.status_code == 303
    bearer = {"Authorization": f"Bearer {tok['access_token']}", "Accept": FHIR}
    assert client.get(f"/fhir/Observation/{record.observation}", headers=bearer).status_code == 401
    r = client.post("/oauth/token", data={"grant_type": "refresh_token", "client_id": app.client_id,
                                          "refresh_token": tok["refresh_token"]})
    assert r.status_code == 400
    assert "Aucune application n'a accès" in client.get("/applications/connectees").text


def test_expired_token_and_system_scopes_out_of_place(client: TestClient, db: Session,
                                                      personas: Personas, record: Record) -> None:
    from datetime import timedelta

    from esante.core.db import utcnow

    app = published_app(db, personas)
    sign_in(client, "citizen@test.esante.fr", PASSWORD)
    tok = _tokens(client, app.client_id)
    row = db.scalar(select(IssuedToken).where(IssuedToken.kind == "access"))
    assert row is not None
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.flush()
    bearer = {"Authorization": f"Bearer {tok['access_token']}", "Accept": FHIR}
    r = client.get(f"/fhir/Observation/{record.observation}", headers=bearer)
    assert r.status_code == 401 and r.json()["resourceType"] == "OperationOutcome"
    # A forged token (signature broken): refused.
    head, body, sig = tok["access_token"].split(".")
    forged = f"{head}.{body}.{sig[::-1]}"
    r = client.get(f"/fhir/Observation/{record.observation}",
                   headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401
    # A person-facing app cannot declare system/ scopes.
    from tests.apps.conftest import app_file

    r = client.post("/api/apps", headers=personas.auth("publisher"), json=app_file(
        scopes=[{"scope": "system/*.rs", "reason": "tout lire pour tout le monde"}]))
    assert r.status_code == 422 and "réservée aux services d'établissement" in r.text


def test_capability_statement_points_at_the_authorisation_server(client: TestClient) -> None:
    from fhir.resources.R4B.capabilitystatement import CapabilityStatement

    body = client.get("/fhir/metadata", headers={"Accept": FHIR}).json()
    CapabilityStatement.model_validate(body)
    security = body["rest"][0]["security"]
    uris = {e["url"]: e["valueUri"] for e in security["extension"][0]["extension"]}
    assert uris["authorize"] == "https://testserver/oauth/authorize"
    assert uris["token"] == "https://testserver/oauth/token"
    assert "SMART-on-FHIR" in {c["code"] for c in security["service"][0]["coding"]}


def test_issuer_and_audience_come_from_the_configured_base_url_not_the_host(
        client: TestClient, db: Session, personas: Personas, record: Record) -> None:
    """A forged Host header changes neither the discovery documents nor the tokens: the
    issuer and the FHIR audience are ESANTE_BASE_URL's (https://testserver in tests)."""
    evil = {"Host": "attaquant.exemple"}
    for path in ("/.well-known/smart-configuration", "/.well-known/openid-configuration",
                 "/fhir/.well-known/smart-configuration"):
        conf = client.get(path, headers=evil).json()
        assert conf["issuer"] == "https://testserver"
        assert conf["token_endpoint"] == "https://testserver/oauth/token"
    meta = client.get("/fhir/metadata", headers={**evil, "Accept": FHIR}).json()
    assert "attaquant" not in str(meta["rest"][0]["security"])

    app = published_app(db, personas)
    sign_in(client, "citizen@test.esante.fr", PASSWORD)
    verifier = new_verifier()
    q = query_of(consent(client, authorize_url(app.client_id, verifier, scope=SCOPE)))
    r = client.post("/oauth/token", headers=evil, data={
        "grant_type": "authorization_code", "code": q["code"], "redirect_uri": REDIRECT,
        "client_id": app.client_id, "code_verifier": verifier})
    assert r.status_code == 200, r.text
    tok = r.json()
    keyset = KeySet.import_key_set(client.get("/oauth/jwks").json())
    claims = jwt.decode(tok["access_token"], keyset).claims
    assert claims["iss"] == "https://testserver" and claims["aud"] == "https://testserver/fhir"
    assert jwt.decode(tok["id_token"], keyset).claims["iss"] == "https://testserver"
    assert tok["fhirUser"].startswith("https://testserver/fhir/")
    # The token is good at /fhir whatever Host the request names.
    bearer = {"Authorization": f"Bearer {tok['access_token']}", "Accept": FHIR}
    assert client.get(f"/fhir/Observation/{record.observation}",
                      headers={**bearer, **evil}).status_code == 200
    # An aud naming the forged host is refused, even sent to that host.
    page = client.get(authorize_url(app.client_id, new_verifier(), scope=SCOPE,
                                    aud="https://attaquant.exemple/fhir"), headers=evil)
    assert page.status_code == 400 and "aud" in page.text
    r = client.post("/oauth/introspect", headers=evil,
                    data={"token": tok["access_token"], "client_id": app.client_id})
    assert "attaquant" not in r.text
