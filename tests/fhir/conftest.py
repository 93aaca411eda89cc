"""FHIR fixtures: a FHIR-speaking client over the app, and resources in the store."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B import get_fhir_model_class
from sqlalchemy.orm import Session

from esante.core.db import utcnow
from esante.fhir.frcore import OID_INS_NIR, RELIABILITY_URL, RPPS_SYSTEM
from esante.fhir.models import PatientLink
from tests.factories import Personas

INS_NIR = "279035121518989"  # an official test NIR (ansforge/hl7V2-exemples)


def valid_fhir(body: dict[str, Any]) -> dict[str, Any]:
    """Every body the server answers must be a valid FHIR R4 resource."""
    get_fhir_model_class(body["resourceType"]).model_validate(body)
    return body


class FhirClient:
    def __init__(self, client: TestClient, personas: Personas) -> None:
        self.client = client
        self.personas = personas

    def __call__(self, who: str | None, method: str, url: str, body: Any = None,
                 headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
        h = dict(self.personas.auth(who)) if who else {}
        if body is not None:
            h["Content-Type"] = "application/fhir+json"
        h.update(headers or {})
        response = self.client.request(method, f"/fhir{url}", json=body, headers=h, **kwargs)
        if response.content and response.headers.get("content-type", "").startswith(
                "application/fhir+json"):
            valid_fhir(response.json())
        return response


@pytest.fixture
def fhir(client: TestClient, personas: Personas) -> FhirClient:
    return FhirClient(client, personas)


def patient_body(family: str = "Martin", given: str = "Camille", *, ins: str | None = None,
                 status: str = "QUAL", birth: str = "1979-03-15") -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "Patient",
        "name": [{"use": "official", "family": family, "given": [given]}],
        "gender": "female", "birthDate": birth,
        "identifier": [{"system": "http://hopital-a.example/ipp", "value": f"IPP-{family}"}],
    }
    if ins:
        body["identifier"].append({"system": OID_INS_NIR, "value": ins})
        body["extension"] = [{"url": RELIABILITY_URL, "extension": [{
            "url": "identityStatus", "valueCoding": {
                "system": "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-identity-status",
                "code": status}}]}]
    return body


def observation_body(patient_id: str, code: str = "29463-7", value: float = 72.5,
                     when: str = "2026-11-01T10:00:00+01:00") -> dict[str, Any]:
    return {"resourceType": "Observation", "status": "final",
            "category": [{"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                "code": "vital-signs"}]}],
            "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
            "subject": {"reference": f"Patient/{patient_id}"},
            "effectiveDateTime": when,
            "valueQuantity": {"value": value, "unit": "kg", "system": "http://unitsofmeasure.org",
                              "code": "kg"}}


def practitioner_body(rpps: str, family: str = "Bernard") -> dict[str, Any]:
    return {"resourceType": "Practitioner", "name": [{"family": family}],
            "identifier": [{"system": RPPS_SYSTEM, "value": rpps}]}


@pytest.fixture
def make_patient(fhir: FhirClient, db: Session, personas: Personas) -> Callable[..., str]:
    """Creates a Patient as the doctor (who thus takes part in her care) and links it to
    the citizen persona when ``holder`` is given."""

    def make(holder: str | None = "citizen", **kwargs: Any) -> str:
        r = fhir("doctor", "POST", "/Patient", patient_body(**kwargs))
        assert r.status_code == 201, r.text
        fid = r.json()["id"]
        if holder:
            db.add(PatientLink(user_id=personas.users[holder].id, patient_fid=fid,
                               created_at=utcnow()))
            db.flush()
        return fid  # type: ignore[no-any-return]

    return make
