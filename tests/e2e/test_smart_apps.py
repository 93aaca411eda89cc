"""SMART on FHIR against a real ``esante serve`` process, with real clients: authlib's
OAuth client runs the authorisation code + PKCE flow (the citizen signs in and consents in
a real Chromium), refreshes, revokes; fhirpy reads FHIR data with the access token, within
its scopes; a backend service authenticates with private_key_jwt; the app's suspension
voids its tokens at once."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import ForbiddenError
from joserfc.jwk import RSAKey

from esante.core.identifiers import rpps_key
from tests.apps.conftest import REDIRECT, app_file
from tests.e2e.browser import browser_test, chromium, french_page
from tests.e2e.server import PASSWORD, Instance, Server
from tests.factories import finess
from tests.fhir.conftest import observation_body, patient_body

pytestmark = [pytest.mark.slow]

FINESS = finess("75000077")
RPPS = "1000000770" + rpps_key("1000000770")
DOCTOR = "dr.smart@e2e.esante.fr"
CITIZEN = "camille.smart@e2e.esante.fr"
PUBLISHER = "editeur@e2e.esante.fr"
REVIEWER = "relecteur@e2e.esante.fr"
SCOPE = "launch/patient openid fhirUser offline_access patient/Observation.rs patient/Patient.r"


def fhir(server: Server, token: str) -> SyncFHIRClient:
    return SyncFHIRClient(f"{server.base_url}/fhir", authorization=f"Bearer {token}",
                          extra_headers={"Accept": "application/fhir+json"})


def status(server: Server, token: str, path: str) -> int:
    return httpx.get(f"{server.base_url}/fhir/{path}", timeout=10,
                     headers={"Authorization": f"Bearer {token}"}).status_code


def publish(instance: Instance, tmp_path: Path, name: str, body: dict[str, Any],
            *extra: str) -> tuple[str, str]:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(body))
    out = instance.cli("apps", "create", str(path), "--publisher", PUBLISHER, *extra).stdout
    last = out.strip().splitlines()[-1].split()
    app_id, client_id = last[1], last[2].removeprefix("client_id=")
    instance.cli("apps", "submit", app_id, "--publisher", PUBLISHER)
    instance.cli("apps", "decide", app_id, "publish", "--reviewer", REVIEWER,
                 "--reasons", "conforme à la doctrine 1.0")
    return app_id, client_id


def consent_in_browser(url: str, base: str) -> str:
    """The citizen signs in and allows the app in Chromium; returns where she is sent."""
    from playwright.sync_api import expect

    with chromium() as browser:
        page = french_page(browser)
        page.set_default_timeout(10_000)
        landed: list[str] = []
        page.route("https://app.exemple.fr/**", lambda route: (
            landed.append(route.request.url), route.fulfill(body="ok")))
        page.goto(url)
        expect(page).to_have_url(f"{base}/login?next=" + page.url.split("next=")[1])
        page.fill("#email", CITIZEN)
        page.fill("#password", PASSWORD)
        page.click("#login-submit")
        expect(page.locator("#consent-title")).to_have_text(
            "Tensio Suivi demande l'accès à vos données")
        scopes = page.locator("#consent-scopes")
        expect(scopes).to_contain_text("lire et rechercher dans vos mesures et résultats")
        expect(scopes).to_contain_text("afficher vos mesures de tension")
        expect(scopes).to_contain_text("garder l'accès quand vous n'utilisez pas")
        page.click("#consent-allow")
        page.wait_for_timeout(200)
        for _ in range(50):
            if landed:
                break
            page.wait_for_timeout(100)
        assert landed, "the browser was not sent back to the app"
        return landed[0]


@browser_test
def test_smart_flows_with_real_clients(instance: Instance, start_server: Callable[..., Server],
                                       tmp_path: Path) -> None:
    instance.seed({"regions": True, "establishments": [
        {"finess": FINESS, "name": "CHU SMART-Test", "category": "CH", "department": "75",
         "town": "Paris"}]})
    instance.cli("user", "create", "--email", DOCTOR, "--password", PASSWORD,
                 "--role", "professional", "--scope", f"establishment:{FINESS}", "--rpps", RPPS)
    instance.cli("user", "create", "--email", CITIZEN, "--password", PASSWORD, "--role", "citizen")
    instance.cli("user", "create", "--email", PUBLISHER, "--password", PASSWORD,
                 "--role", "app_publisher", "--scope", "nation")
    instance.cli("user", "create", "--email", REVIEWER, "--password", PASSWORD,
                 "--role", "app_reviewer", "--scope", "nation")
    server = start_server()
    doctor = fhir(server, instance.token(DOCTOR, "read", "write"))
    patient = doctor.resource("Patient", **patient_body("Lefèvre"))
    patient.save()
    obs = doctor.resource("Observation", **observation_body(patient.id))
    obs.save()
    doctor.resource("DocumentReference", resourceType="DocumentReference", status="current",
                    subject={"reference": f"Patient/{patient.id}"},
                    content=[{"attachment": {"contentType": "text/plain", "data": "Q1I="}}]).save()
    instance.cli("fhir", "link", "--user", CITIZEN, "--patient", patient.id)

    _, client_id = publish(instance, tmp_path, "tensio", app_file())
    base = server.base_url
    token_url = f"{base}/oauth/token"

    # Authorisation code + PKCE, with authlib's client; consent in the browser.
    oauth = OAuth2Client(client_id, scope=SCOPE, redirect_uri=REDIRECT,
                         code_challenge_method="S256", token_endpoint_auth_method="none")
    verifier = __import__("secrets").token_urlsafe(48)
    url, state = oauth.create_authorization_url(f"{base}/oauth/authorize", code_verifier=verifier,
                                                aud=f"{base}/fhir")
    back = consent_in_browser(url, base)
    token = oauth.fetch_token(token_url, authorization_response=back, code_verifier=verifier,
                              state=state)
    assert token["patient"] == patient.id and token["id_token"]

    # fhirpy reads within the scopes, and is refused outside them.
    app = fhir(server, token["access_token"])
    assert app.reference("Observation", obs.id).to_resource()["id"] == obs.id
    assert [o.id for o in app.resources("Observation").fetch()] == [obs.id]
    with pytest.raises(ForbiddenError, match="ne couvre pas"):
        app.resources("DocumentReference").fetch()

    # Refresh with rotation, then revocation (RFC 7009) of the new refresh token.
    first_refresh = token["refresh_token"]
    renewed = oauth.refresh_token(token_url, refresh_token=first_refresh)
    assert renewed["refresh_token"] != first_refresh
    assert status(server, renewed["access_token"], f"Observation/{obs.id}") == 200
    seen = httpx.post(f"{base}/oauth/introspect", data={
        "token": renewed["access_token"], "client_id": client_id}, timeout=10).json()
    assert seen["active"] and seen["patient"] == patient.id
    oauth.revoke_token(f"{base}/oauth/revoke", token=renewed["refresh_token"],
                       token_type_hint="refresh_token")
    assert status(server, renewed["access_token"], f"Observation/{obs.id}") == 401

    # Backend services: private_key_jwt, client credentials, system/ scopes.
    key = RSAKey.generate_key(2048, parameters={"kid": "etab-1"}, private=True)
    backend_file = app_file(
        name="Entrepôt CHU", client_kind="backend", category="etablissement", redirect_uris=[],
        scopes=[{"scope": "system/Observation.rs", "reason": "alimenter l'entrepôt de l'établissement"}],
        jwks={"keys": [key.as_dict(private=False)]})
    backend_id, backend_client = publish(instance, tmp_path, "backend", backend_file,
                                         "--service-user", DOCTOR)
    system = OAuth2Client(backend_client, client_secret=key.as_dict(private=True),
                          token_endpoint_auth_method=PrivateKeyJWT(token_url))
    backend_token = system.fetch_token(token_url, grant_type="client_credentials",
                                       scope="system/Observation.rs")
    reader = fhir(server, backend_token["access_token"])
    assert reader.reference("Observation", obs.id).to_resource()["id"] == obs.id
    assert status(server, backend_token["access_token"], f"Patient/{patient.id}") == 403

    # Suspension: the backend's token stops working at once.
    instance.cli("apps", "decide", backend_id, "suspend", "--reviewer", REVIEWER,
                 "--reasons", "incident de sécurité déclaré")
    assert status(server, backend_token["access_token"], f"Observation/{obs.id}") == 401
