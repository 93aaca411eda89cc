"""The health profile: entries as FHIR resources, measurements checked against the range of
a human body (unusual: confirm; impossible: refused), a chart per measurement, and what
professionals enter shown beside what the citizen enters."""

from __future__ import annotations

from fhir.resources.R4B.observation import Observation
from sqlalchemy import func, select

from esante.fhir.models import FhirResource
from tests.fhir.conftest import observation_body

API = "/api/space"


def test_entries_are_fhir_resources_of_the_record(client, personas, space, fhir) -> None:
    auth = personas.auth("citizen")
    for section, text in (("allergies", "Pénicilline"), ("antecedents", "Asthme"),
                          ("traitements", "Ventoline 100 µg"), ("vaccinations", "DTP rappel")):
        r = client.post(f"{API}/profile/{section}", json={"text": text, "date": "2025-05-01"},
                        headers=auth)
        assert r.status_code == 201, r.text
    got = client.get(f"{API}/profile", headers=auth).json()
    assert got["allergies"][0]["text"] == "Pénicilline" and got["allergies"][0]["by_holder"]
    assert got["vaccinations"][0]["when"] == "2025-05-01"
    # The doctor in care reads them through FHIR.
    assert fhir("doctor", "GET", f"/AllergyIntolerance?patient={space.patient}").json()[
        "total"] == 1
    bad = client.post(f"{API}/profile/chirurgie", json={"text": "Appendicite"}, headers=auth)
    assert bad.status_code == 422 and "rubrique inconnue" in bad.json()["detail"]
    future = client.post(f"{API}/profile/allergies", json={"text": "Latex", "date": "2999-01-01"},
                         headers=auth)
    assert future.status_code == 422 and "futur" in future.json()["detail"]


def test_measurements_ranges_and_series(client, personas, space, fhir, db) -> None:
    auth = personas.auth("citizen")
    url = f"{API}/measurements/poids"

    def count() -> int:
        return db.scalar(select(func.count()).select_from(FhirResource).where(
            FhirResource.resource_type == "Observation")) or 0

    before = count()
    impossible = client.post(url, json={"value": 900}, headers=auth)
    assert impossible.status_code == 422
    assert impossible.json()["detail"].startswith("poids impossible : 900 kg")
    unusual = client.post(url, json={"value": 230}, headers=auth)
    assert unusual.status_code == 422 and "confirmez" in unusual.json()["detail"]
    assert count() == before
    assert client.post(url, json={"value": 230, "confirm": True}, headers=auth).status_code == 201
    r = client.post(url, json={"value": 72.5, "at": "2026-01-10T08:00:00Z"}, headers=auth)
    assert r.status_code == 201
    # The doctor adds one too (FHIR API): it joins the same series.
    obs = fhir("doctor", "POST", "/Observation",
               observation_body(space.patient, value=71.0, when="2026-06-01T10:00:00+02:00"))
    assert obs.status_code == 201
    points = client.get(url, headers=auth).json()["points"]
    assert [p["value"] for p in points] == [72.5, 71.0, 230.0]  # by date
    assert [p["by_holder"] for p in points] == [True, False, True]
    stored = fhir("citizen", "GET", f"/Observation/{r.json()['id']}").json()
    Observation.model_validate(stored)
    # Blood pressure: two values, diastolic below systolic.
    tension = f"{API}/measurements/tension"
    bad = client.post(tension, json={"value": 120, "second": 130}, headers=auth)
    assert bad.status_code == 422 and "diastolique doit être inférieure" in bad.json()["detail"]
    ok = client.post(tension, json={"value": 125, "second": 80}, headers=auth)
    assert ok.status_code == 201, ok.text
    pts = client.get(tension, headers=auth).json()["points"]
    assert (pts[0]["value"], pts[0]["second"]) == (125.0, 80.0)


def test_measure_page_draws_a_chart(client, personas, space) -> None:
    from tests.core.test_auth import post_otp, post_password

    auth = personas.auth("citizen")
    for day, v in (("2026-01-01", 70), ("2026-02-01", 72), ("2026-03-01", 71)):
        client.post(f"{API}/measurements/poids", json={"value": v, "at": f"{day}T08:00:00Z"},
                    headers=auth)
    import pyotp

    post_password(client, "citizen@test.esante.fr")
    post_otp(client, pyotp.TOTP(space.secret).now())
    page = client.get("/espace/profil/mesures/poids")
    assert page.status_code == 200
    assert "<polyline" in page.text and "de 70 à 72 kg" in page.text
    assert page.text.count("<tr>") >= 4


def test_latest_value_is_the_newest_of_the_series(client, personas, space, db) -> None:
    from esante.core.policy import Principal
    from esante.space import profile

    auth = personas.auth("citizen")
    p = Principal.of(personas.users["citizen"])
    assert profile.latest(db, p, space.space, "poids") is None
    for day, v in (("2026-03-01", 71), ("2026-01-01", 70), ("2026-02-01", 72)):
        r = client.post(f"{API}/measurements/poids", json={"value": v, "at": f"{day}T08:00:00Z"},
                        headers=auth)
        assert r.status_code == 201, r.text
    client.post(f"{API}/measurements/tension", json={"value": 128, "second": 84,
                                                     "at": "2026-02-01T08:00:00Z"}, headers=auth)
    last = profile.latest(db, p, space.space, "poids")
    assert last is not None and (last.value, last.at.month) == (71.0, 3)
    assert last == profile.series(db, p, space.space, "poids")[-1]
    pressure = profile.latest(db, p, space.space, "tension")
    assert pressure is not None and (pressure.value, pressure.second) == (128.0, 84.0)
