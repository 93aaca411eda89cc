"""A local identity created and qualified through the identity API of a real ``esante
serve`` process is read back as an FR Core Patient with a real FHIR client (fhirpy): no INS
before qualification, the INS once qualified, the reliability extension following."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import ForbiddenError
from sqlalchemy import create_engine, insert

from esante.identity.models import ReferencePerson
from tests.e2e.server import PASSWORD, Instance, Server
from tests.factories import finess
from tests.identity.conftest import make_nir

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

FINESS = finess("75000077")
CLERK = "accueil.fhirpy@test.esante.fr"
DOCTOR = "dr.identite@test.esante.fr"
INS_NIR = "urn:oid:1.2.250.1.213.1.4.8"
RELIABILITY = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-identity-reliability"


def _valid(resource: Any) -> dict[str, Any]:
    body: dict[str, Any] = resource.serialize()
    get_fhir_model_class(body["resourceType"]).model_validate(body)
    return body


def _status(body: dict[str, Any]) -> str:
    ext = next(e for e in body["extension"] if e["url"] == RELIABILITY)
    return next(str(x["valueCoding"]["code"]) for x in ext["extension"]
                if x["url"] == "identityStatus")


def _ins(body: dict[str, Any]) -> list[str]:
    return [i["value"] for i in body.get("identifier", []) if i["system"] == INS_NIR]


def test_identity_read_as_fr_core_patient_with_fhirpy(
        instance: Instance, start_server: Callable[..., Server]) -> None:
    instance.seed({"regions": True, "establishments": [
        {"finess": FINESS, "name": "CH Identité-Test", "category": "CH", "department": "75",
         "town": "Paris"}]})
    instance.cli("user", "create", "--email", CLERK, "--password", PASSWORD,
                 "--role", "identity_clerk", "--scope", f"establishment:{FINESS}")
    instance.cli("user", "create", "--email", DOCTOR, "--password", PASSWORD,
                 "--role", "professional", "--scope", f"establishment:{FINESS}")
    matricule = make_nir("F", "1980-05-12", "75056", 101)
    engine = create_engine(instance.database_url)
    with engine.begin() as conn:  # the reference directory knows her
        conn.execute(insert(ReferencePerson).values(
            matricule=matricule, oid="1.2.250.1.213.1.4.8", birth_name="MARTIN",
            first_names="JEANNE MARIE", sex="F", birth_date="1980-05-12", birth_place="75056",
            card_holder=matricule))
    engine.dispose()
    server = start_server()
    token = instance.token(CLERK, "read", "write")
    api = httpx.Client(base_url=f"{server.base_url}/api/identity",
                       headers={"Authorization": f"Bearer {token}"}, timeout=30)
    r = api.post(f"/establishments/{FINESS}/identities", json={"local_id": "IPP-77", "traits": {
        "birth_name": "Martin", "first_names": ["Jeanne", "Marie"], "sex": "F",
        "birth_date": "1980-05-12", "birth_place": "75056"}})
    assert r.status_code == 201, r.text
    identity = r.json()["identity"]
    fid = identity["patient_fid"]

    fhir = SyncFHIRClient(f"{server.base_url}/fhir", authorization=f"Bearer {token}",
                          extra_headers={"Accept": "application/fhir+json"})
    before = _valid(fhir.reference("Patient", fid).to_resource())
    assert _status(before) == "PROV" and _ins(before) == []
    assert [i["value"] for i in before["identifier"]] == ["IPP-77"]
    assert before["managingOrganization"]["identifier"]["value"] == FINESS

    assert api.post(f"/identities/{identity['id']}/document",
                    json={"document": "PASSEPORT"}).json()["status"] == "VALI"
    r = api.post(f"/identities/{identity['id']}/directory")
    assert r.json()["identity"]["status"] == "QUAL", r.text

    after = _valid(fhir.reference("Patient", fid).to_resource())
    assert _status(after) == "QUAL" and _ins(after) == [matricule]
    assert after["meta"]["versionId"] == "3"
    found = fhir.resources("Patient").search(identifier=f"{INS_NIR}|{matricule}").fetch()
    assert [p.id for p in found] == [fid]

    # a professional of the same establishment without a care relationship: refused
    doctor = SyncFHIRClient(f"{server.base_url}/fhir",
                            authorization=f"Bearer {instance.token(DOCTOR, 'read')}",
                            extra_headers={"Accept": "application/fhir+json"})
    with pytest.raises(ForbiddenError):
        doctor.reference("Patient", fid).to_resource()
