"""The access history says through which app an access came (the SMART client's name,
from the apps register), and filters on it (page, CSV, API); the data-hub objection is
recorded and withdrawn from the space itself, in the hub's opt-out register."""

from __future__ import annotations

from sqlalchemy import select

from esante.apps import scopes as smart
from esante.apps.tokens import SmartContext
from esante.core.audit import Actor
from esante.core.policy import Principal
from esante.datahub import optout
from esante.datahub.models import OptOut
from esante.fhir.service import Fhir
from tests.apps.conftest import published_app
from tests.core.test_auth import csrf_of, post_otp, post_password
from tests.fhir.conftest import INS_NIR, observation_body

API = "/api/space"


def _login(client, personas, space) -> None:  # type: ignore[no-untyped-def]
    import pyotp

    client.cookies.clear()
    post_password(client, "citizen@test.esante.fr")
    assert post_otp(client, pyotp.TOTP(space.secret).now()).status_code == 303


def test_history_names_the_app_and_filters_on_it(client, personas, fhir, space, db) -> None:  # type: ignore[no-untyped-def]
    app = published_app(db, personas)
    other = published_app(db, personas, name="Glyco Carnet")
    fhir("doctor", "POST", "/Observation", observation_body(space.patient))
    for a in (app, other):
        p = Principal.of(personas.users["citizen"])
        p.smart = SmartContext(a.client_id, tuple(smart.resource_scopes(
            ["patient/Observation.rs"])), space.patient)
        found = Fhir(db, p, base="https://testserver/fhir").search(
            "Observation", [("patient", space.patient)]).resource
        assert found and found["total"] == 1
    db.flush()

    _login(client, personas, space)
    page = client.get("/espace/historique")
    assert page.status_code == 200
    assert "<td>Tensio Suivi</td>" in page.text and "<td>Glyco Carnet</td>" in page.text
    assert f'<option value="{app.client_id}">Tensio Suivi</option>' in page.text
    only = client.get(f"/espace/historique?app={app.client_id}")
    assert "<td>Tensio Suivi</td>" in only.text and "<td>Glyco Carnet</td>" not in only.text
    assert "1 accès." in only.text
    none = client.get("/espace/historique?app=-")
    assert "<td>Tensio Suivi</td>" not in none.text and "ajout" in none.text
    csv = client.get(f"/espace/historique.csv?app={other.client_id}").text.splitlines()
    assert csv[0].split(";")[7] == "application"
    assert len(csv) == 2 and csv[1].split(";")[7] == "Glyco Carnet"
    bad = client.get("/espace/historique?app=a%20b", follow_redirects=True)
    assert "application inconnue" in bad.text

    r = client.get(f"{API}/access-history", params={"app": app.client_id},
                   headers=personas.auth("citizen"))
    assert r.status_code == 200, r.text
    assert r.json()["total"] == 1 and r.json()["entries"][0]["app"] == "Tensio Suivi"
    r = client.get(f"{API}/access-history", params={"app": "x y"},
                   headers=personas.auth("citizen"))
    assert r.status_code == 422 and "application inconnue" in r.json()["detail"]


def test_research_objection_from_the_space_feeds_the_register(client, personas, space,
                                                               db) -> None:  # type: ignore[no-untyped-def]
    _login(client, personas, space)
    home = client.get("/espace")
    assert "M'opposer à la réutilisation de mes données" in home.text
    csrf = csrf_of(home.text)
    nir = optout.normalise_nir(INS_NIR)
    actor = Actor.system("tests")
    assert optout.opted_out_ids(db, actor=actor, nirs=[nir]) == set()

    r = client.post("/espace/recherche", data={"csrf_token": csrf, "action": "object"},
                    follow_redirects=False)
    assert r.headers["location"] == "/espace?ok=research-object"
    assert optout.opted_out_ids(db, actor=actor, nirs=[nir]) == {nir}  # the hub sees it
    row = db.scalar(select(OptOut))
    assert row is not None and row.channel == "espace" and nir not in row.digest
    home = client.get("/espace")
    assert "Retirer mon opposition" in home.text
    again = client.post("/espace/recherche", data={"csrf_token": csrf, "action": "object"},
                        follow_redirects=False)
    assert "d%C3%A9j%C3%A0%20enregistr%C3%A9" in again.headers["location"]

    r = client.post("/espace/recherche", data={"csrf_token": csrf, "action": "withdraw"},
                    follow_redirects=False)
    assert r.headers["location"] == "/espace?ok=research-withdraw"
    assert optout.opted_out_ids(db, actor=actor, nirs=[nir]) == set()
    r = client.post("/espace/recherche", data={"csrf_token": csrf, "action": "withdraw"},
                    follow_redirects=False)
    assert "aucune%20opposition" in r.headers["location"]


def test_research_objection_through_the_api(client, personas, space, db) -> None:  # type: ignore[no-untyped-def]
    auth = personas.auth("citizen")
    assert client.get(f"{API}/research-objection", headers=auth).json()["objecting"] is False
    r = client.post(f"{API}/research-objection", headers=auth)
    assert r.status_code == 200 and r.json()["objecting"] is True
    assert client.post(f"{API}/research-objection", headers=auth).status_code == 409
    r = client.post(f"{API}/research-objection/withdraw", headers=auth)
    assert r.status_code == 200 and r.json()["objecting"] is False
    assert client.post(f"{API}/research-objection/withdraw", headers=auth).status_code == 409
    # Only the holder of an active space.
    assert client.post(f"{API}/research-objection",
                       headers=personas.auth("doctor")).status_code == 403
