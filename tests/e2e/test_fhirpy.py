"""A real FHIR client (fhirpy) against a real ``esante serve`` process: create, read,
update with versions, search, paging through every page, count, delete; a citizen reaches
her own record and not another's. Every body answered is checked with fhir.resources."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import ForbiddenError, ResourceNotFound

from esante.core.identifiers import rpps_key
from tests.e2e.server import PASSWORD, Instance, Server
from tests.factories import finess
from tests.fhir.conftest import INS_NIR, observation_body, patient_body

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

FINESS = finess("75000042")
RPPS = "1000000420" + rpps_key("1000000420")
DOCTOR = "dr.fhirpy@test.esante.fr"
CITIZEN = "camille.fhirpy@test.esante.fr"
OTHER = "autre.fhirpy@test.esante.fr"


def valid(resource: Any) -> dict[str, Any]:
    body = resource.serialize() if hasattr(resource, "serialize") else dict(resource)
    get_fhir_model_class(body["resourceType"]).model_validate(body)
    return body  # type: ignore[no-any-return]


def client(server: Server, token: str) -> SyncFHIRClient:
    return SyncFHIRClient(f"{server.base_url}/fhir", authorization=f"Bearer {token}",
                          extra_headers={"Accept": "application/fhir+json"})


def test_fhirpy_against_a_real_server(instance: Instance,
                                      start_server: Callable[..., Server]) -> None:
    instance.seed({"regions": True, "establishments": [
        {"finess": FINESS, "name": "CHU FHIR-Test", "category": "CH", "department": "75",
         "town": "Paris"}]})
    instance.cli("user", "create", "--email", DOCTOR, "--password", PASSWORD,
                 "--role", "professional", "--scope", f"establishment:{FINESS}",
                 "--rpps", RPPS)
    for email in (CITIZEN, OTHER):
        instance.cli("user", "create", "--email", email, "--password", PASSWORD,
                     "--role", "citizen")
    server = start_server()
    doctor = client(server, instance.token(DOCTOR, "read", "write"))

    # create
    patient = doctor.resource("Patient", **patient_body("Lefèvre", ins=INS_NIR))
    patient.save()
    assert patient.id and patient["meta"]["versionId"] == "1"
    other = doctor.resource("Patient", **patient_body("Autre", birth="1990-01-02"))
    other.save()
    obs = doctor.resource("Observation", **observation_body(patient.id))
    obs.save()
    assert obs["subject"]["reference"] == f"Patient/{patient.id}"

    # read
    read = doctor.reference("Patient", patient.id).to_resource()
    assert valid(read)["name"][0]["family"] == "Lefèvre"

    # update: the version increments
    read["gender"] = "other"
    read.save()
    again = doctor.resources("Patient").search(_id=patient.id).get()
    assert valid(again)["gender"] == "other"
    assert again["meta"]["versionId"] == "2"

    # search with parameters
    by_ins = doctor.resources("Patient").search(
        identifier=f"urn:oid:1.2.250.1.213.1.4.8|{INS_NIR}").fetch()
    assert [p.id for p in by_ins] == [patient.id]
    by_name = doctor.resources("Patient").search(family="lefevre", birthdate="1979-03-15").fetch()
    assert [p.id for p in by_name] == [patient.id]

    # more than one page: fetch_all follows the next links; count
    for i in range(23):
        doctor.resource("Observation", **observation_body(
            patient.id, code="8867-4", value=60 + i,
            when=f"2026-10-{i + 1:02d}T08:00:00+01:00")).save()
    pulses = doctor.resources("Observation").search(patient=patient.id, code="8867-4").limit(10)
    first_page = pulses.fetch()
    assert len(first_page) == 10
    everything = pulses.fetch_all()
    assert len(everything) == 23
    assert len({o.id for o in everything}) == 23
    for o in everything:
        valid(o)
    assert pulses.count() == 23
    assert doctor.resources("Observation").search(patient=patient.id).count() == 24

    # delete, then read: gone
    obs.delete()
    with pytest.raises(ResourceNotFound, match="a été supprimé"):  # 410 Gone
        doctor.reference("Observation", obs.id).to_resource()
    with pytest.raises(ResourceNotFound, match="introuvable"):  # 404
        doctor.reference("Observation", "n-existe-pas").to_resource()
    assert doctor.resources("Observation").search(patient=patient.id).count() == 23

    # a citizen: her own record, not another's
    instance.cli("fhir", "link", "--user", CITIZEN, "--patient", patient.id)
    camille = client(server, instance.token(CITIZEN, "read"))
    mine = camille.reference("Patient", patient.id).to_resource()
    assert valid(mine)["id"] == patient.id
    assert camille.resources("Observation").search(code="8867-4").count() == 23
    with pytest.raises(ForbiddenError):
        camille.reference("Patient", other.id).to_resource()
    assert camille.resources("Patient").search(family="autre").fetch() == []
