"""FHIR instance interactions: create, read, vread, update with If-Match, patch, delete
kept in history, conditional create, Prefer, ETag; bad input changes nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from esante.fhir.models import FhirResource, FhirVersion
from tests.fhir.conftest import INS_NIR, observation_body, patient_body


def test_capability_statement(fhir) -> None:
    r = fhir(None, "GET", "/metadata")
    assert r.status_code == 200
    body = r.json()
    assert body["fhirVersion"] == "4.0.1"
    types = {res["type"] for res in body["rest"][0]["resource"]}
    assert {"Patient", "Observation", "DocumentReference", "Consent", "AuditEvent"} <= types


def test_create_read_update_delete_history(fhir, make_patient) -> None:
    pid = make_patient(ins=INS_NIR)
    r = fhir("doctor", "GET", f"/Patient/{pid}")
    assert r.status_code == 200
    assert r.headers["etag"] == 'W/"1"'
    assert r.json()["meta"]["versionId"] == "1"

    body = r.json()
    body["gender"] = "other"
    stale = fhir("doctor", "PUT", f"/Patient/{pid}", body, headers={"If-Match": 'W/"7"'})
    assert stale.status_code == 412
    ok = fhir("doctor", "PUT", f"/Patient/{pid}", body, headers={"If-Match": 'W/"1"'})
    assert ok.status_code == 200, ok.text
    assert ok.headers["etag"] == 'W/"2"'

    patched = fhir("doctor", "PATCH", f"/Patient/{pid}",
                   headers={"Content-Type": "application/json-patch+json"},
                   content=b'[{"op": "replace", "path": "/gender", "value": "female"}]')
    assert patched.status_code == 200, patched.text
    assert patched.json()["gender"] == "female"
    assert patched.json()["meta"]["versionId"] == "3"

    v1 = fhir("doctor", "GET", f"/Patient/{pid}/_history/1")
    assert v1.json()["gender"] == "female"
    assert v1.json()["meta"]["versionId"] == "1"

    assert fhir("doctor", "DELETE", f"/Patient/{pid}").status_code == 204
    assert fhir("doctor", "GET", f"/Patient/{pid}").status_code == 410
    history = fhir("doctor", "GET", f"/Patient/{pid}/_history").json()
    assert history["total"] == 4
    assert history["entry"][0]["request"]["method"] == "DELETE"


def test_conditional_create_returns_the_existing_resource(fhir, make_patient) -> None:
    make_patient(family="Durand")
    again = fhir("doctor", "POST", "/Patient", patient_body(family="Durand"),
                 headers={"If-None-Exist": "identifier=http://hopital-a.example/ipp|IPP-Durand"})
    assert again.status_code == 200
    new = fhir("doctor", "POST", "/Patient", patient_body(family="Petit"),
               headers={"If-None-Exist": "identifier=http://hopital-a.example/ipp|IPP-Petit"})
    assert new.status_code == 201


def test_prefer_return_minimal(fhir, make_patient) -> None:
    pid = make_patient()
    r = fhir("doctor", "POST", "/Observation", observation_body(pid),
             headers={"Prefer": "return=minimal"})
    assert r.status_code == 201
    assert r.content == b""
    assert "/Observation/" in r.headers["location"]


def test_bad_input_gets_an_operation_outcome_and_writes_nothing(fhir, make_patient, db) -> None:
    pid = make_patient()
    before = db.scalar(select(func.count()).select_from(FhirVersion))
    cases = [
        (fhir("doctor", "POST", "/Patient", headers={"Content-Type": "application/fhir+json"},
              content=b"{not json"), 400, "JSON invalide"),
        (fhir("doctor", "POST", "/Spaceship", {"resourceType": "Spaceship"}), 404,
         "non pris en charge"),
        (fhir("doctor", "POST", "/Patient", {"resourceType": "Patient", "birthDate": "1980-13-45"}),
         422, "birthDate"),
        (fhir("doctor", "POST", "/Patient", patient_body(ins="279035121518900")), 422,
         "clé attendue 89, reçue 00"),
        (fhir("doctor", "POST", "/Patient", patient_body(ins=INS_NIR, status="PROV")), 422,
         "récupérée ou qualifiée"),
        (fhir("doctor", "POST", "/Observation", {**observation_body(pid), "bogus": 1}), 422,
         "élément inconnu"),
        (fhir("doctor", "GET", "/Patient?_count=100000"), 400, "_count trop grand"),
        (fhir("doctor", "GET", "/Patient?nickname=x", headers={"Prefer": "handling=strict"}),
         400, "paramètre de recherche inconnu"),
        (fhir("doctor", "GET", "/Patient?_format=xml"), 406, "JSON"),
    ]
    for response, status, text in cases:
        assert response.status_code == status, (status, response.text)
        body = response.json()
        assert body["resourceType"] == "OperationOutcome"
        assert text in body["issue"][0]["diagnostics"], body
        assert body["issue"][0]["details"]["text"]
    assert db.scalar(select(func.count()).select_from(FhirVersion)) == before


def test_transaction_is_all_or_nothing(fhir, make_patient, db) -> None:
    pid = make_patient()
    before = db.scalar(select(func.count()).select_from(FhirResource))
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:0b7f2c1e-0000-4000-8000-000000000001",
         "resource": observation_body(pid), "request": {"method": "POST", "url": "Observation"}},
        {"resource": {**observation_body(pid), "status": "not-a-status"},
         "request": {"method": "POST", "url": "Observation"}},
    ]}
    r = fhir("doctor", "POST", "", bundle)
    assert r.status_code == 422, r.text
    assert "entrée 1" in r.json()["issue"][0]["diagnostics"]
    assert db.scalar(select(func.count()).select_from(FhirResource)) == before

    bundle["entry"][1]["resource"]["status"] = "final"
    ok = fhir("doctor", "POST", "", bundle)
    assert ok.status_code == 200, ok.text
    assert [e["response"]["status"] for e in ok.json()["entry"]] == ["201", "201"]
    assert db.scalar(select(func.count()).select_from(FhirResource)) == before + 2


def test_transaction_resolves_urn_references(fhir) -> None:
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:11111111-1111-4111-8111-111111111111",
         "resource": patient_body(family="Urn"), "request": {"method": "POST", "url": "Patient"}},
        {"resource": observation_body("x") | {
            "subject": {"reference": "urn:uuid:11111111-1111-4111-8111-111111111111"}},
         "request": {"method": "POST", "url": "Observation"}},
    ]}
    r = fhir("doctor", "POST", "", bundle)
    assert r.status_code == 200, r.text
    patient_loc = r.json()["entry"][0]["response"]["location"]
    obs = r.json()["entry"][1]["resource"]
    assert obs["subject"]["reference"] == "/".join(patient_loc.split("/")[:2])


def test_batch_entries_are_independent(fhir, make_patient) -> None:
    pid = make_patient()
    bundle = {"resourceType": "Bundle", "type": "batch", "entry": [
        {"resource": observation_body(pid), "request": {"method": "POST", "url": "Observation"}},
        {"request": {"method": "GET", "url": "Patient/does-not-exist"}},
        {"request": {"method": "GET", "url": f"Patient/{pid}"}},
    ]}
    r = fhir("doctor", "POST", "", bundle)
    assert r.status_code == 200
    assert [e["response"]["status"] for e in r.json()["entry"]] == ["201", "404", "200"]
