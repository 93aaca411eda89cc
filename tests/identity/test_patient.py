"""Local identities are FR Core Patients in the FHIR store: written at creation, rewritten
at each change of status or merge; the INS only once qualified; read on /fhir by the
establishment's identity desk, and by nobody else without a care relationship."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from esante.fhir.frcore import OID_INS_NIR
from esante.identity import formats, service, vigilance
from esante.identity.models import VigilancePair
from esante.identity.traits import Traits
from tests.fhir.conftest import FhirClient
from tests.identity.conftest import principal

TRAITS = Traits("Martin", ["Jeanne", "Marie"], "F", "1980-05-12", "75056", used_name="Dupont")


def _ext(resource: dict[str, Any], url: str) -> dict[str, Any]:
    return next(e for e in resource.get("extension", []) if e["url"] == url)


def _reliability(resource: dict[str, Any]) -> dict[str, Any]:
    return {e["url"]: e.get("valueCoding", {}).get("code") or e.get("valueDate")
            for e in _ext(resource, formats.RELIABILITY_URL)["extension"]}


def test_identity_is_a_fr_core_patient_with_ins_only_once_qualified(db, personas, ref, client):
    fhir = FhirClient(client, personas)
    p = principal(personas, "clerk_a")
    identity, _ = service.create(db, p, finess=personas.est["A"].finess, traits=TRAITS,
                                 local_id="IPP-0042")
    assert identity.patient_fid
    r = fhir("clerk_a", "GET", f"/Patient/{identity.patient_fid}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["meta"]["versionId"] == "1"
    assert [i["system"] for i in body["identifier"]] == [
        f"urn:oid:{service.local_oid(personas.est['A'].finess)}"]
    assert body["identifier"][0]["value"] == "IPP-0042"
    assert _reliability(body) == {"methodCollection": "SM", "identityStatus": "PROV"}
    assert [(n["use"], n["family"]) for n in body["name"]] == [("official", "MARTIN"),
                                                               ("usual", "DUPONT")]
    assert body["name"][0]["given"] == ["JEANNE"]
    assert _ext(body["name"][0], formats.BIRTH_LIST_URL)["valueString"] == "JEANNE MARIE"
    place = _ext(body, formats.BIRTH_PLACE_URL)["valueAddress"]["extension"][0]
    assert place["valueCoding"]["code"] == "75056"
    assert body["managingOrganization"]["identifier"]["value"] == personas.est["A"].finess
    assert body["active"] is True

    service.check_document(db, p, identity, "CNI")
    body = fhir("clerk_a", "GET", f"/Patient/{identity.patient_fid}").json()
    assert body["meta"]["versionId"] == "2"
    assert _reliability(body)["identityStatus"] == "VALI"
    assert _reliability(body)["validationMode"] == "CN"
    assert not [i for i in body["identifier"] if i["system"] == OID_INS_NIR]

    service.match_directory(db, p, identity)
    assert identity.status == "QUAL"
    body = fhir("clerk_a", "GET", f"/Patient/{identity.patient_fid}").json()
    assert _reliability(body) == {
        "methodCollection": "INSI", "dateCollection": identity.directory_checked_at.date()
        .isoformat(), "identityStatus": "QUAL", "validationMode": "CN",
        "validationDate": identity.document_checked_at.date().isoformat()}
    ins = [i for i in body["identifier"] if i["system"] == OID_INS_NIR]
    assert [i["value"] for i in ins] == [ref.jeanne.matricule]
    # searchable by INS, like any Patient of the store
    found = fhir("clerk_a", "GET", f"/Patient?identifier={OID_INS_NIR}|{ref.jeanne.matricule}")
    assert [e["resource"]["id"] for e in found.json()["entry"]] == [identity.patient_fid]

    # doubtful: back to provisional, the INS leaves the Patient
    service.set_attribute(db, p, identity, "DOUT", "pièce suspecte")
    body = fhir("clerk_a", "GET", f"/Patient/{identity.patient_fid}").json()
    assert _reliability(body)["identityStatus"] == "PROV"
    assert not [i for i in body["identifier"] if i["system"] == OID_INS_NIR]


def test_recovered_identity_does_not_carry_the_ins(db, personas, ref, client):
    fhir = FhirClient(client, personas)
    identity, _ = service.create(db, principal(personas, "clerk_a"),
                                 finess=personas.est["A"].finess,
                                 traits=Traits("Bernard", ["Paul"], "M", "1970-01-01", "13055"))
    service.match_directory(db, principal(personas, "clerk_a"), identity)
    assert identity.status == "RECUP"
    body = fhir("clerk_a", "GET", f"/Patient/{identity.patient_fid}").json()
    assert _reliability(body)["identityStatus"] == "RECUP"
    assert [i["type"]["coding"][0]["code"] for i in body["identifier"]] == ["PI"]


def test_only_the_establishment_desk_reads_the_patient(db, personas, client):
    fhir = FhirClient(client, personas)
    identity, _ = service.create(db, principal(personas, "clerk_a"),
                                 finess=personas.est["A"].finess, traits=TRAITS)
    url = f"/Patient/{identity.patient_fid}"
    assert fhir("idv_a", "GET", url).status_code == 200
    for who in ("doctor", "other_doctor", "citizen", "rssi_a", "admin"):
        assert fhir(who, "GET", url).status_code == 403, who
    listed = fhir("clerk_a", "GET", "/Patient?family=martin").json()
    assert [e["resource"]["id"] for e in listed.get("entry", [])] == [identity.patient_fid]
    assert fhir("doctor", "GET", "/Patient?family=martin").json().get("entry", []) == []


def test_merge_makes_the_patient_inactive_and_unmerge_restores_it(db, personas, client):
    fhir = FhirClient(client, personas)
    clerk, cell = principal(personas, "clerk_a"), principal(personas, "idv_a")
    finess = personas.est["A"].finess
    first, _ = service.create(db, clerk, finess=finess, traits=TRAITS)
    second, found = service.create(db, clerk, finess=finess, traits=Traits(
        "Martin", ["Jeanne"], "F", "1980-05-12", "75056"))
    assert [c.identity.id for c in found] == [first.id]
    pair = db.scalars(select(VigilancePair).where(VigilancePair.second_id == second.id)).one()
    vigilance.decide(db, cell, pair, "merge", surviving_id=first.id)
    gone = fhir("idv_a", "GET", f"/Patient/{second.patient_fid}").json()
    assert gone["active"] is False
    assert gone["link"] == [{"other": {"reference": f"Patient/{first.patient_fid}"},
                             "type": "replaced-by"}]
    vigilance.undo(db, cell, pair)
    back = fhir("idv_a", "GET", f"/Patient/{second.patient_fid}").json()
    assert back["active"] is True and "link" not in back
