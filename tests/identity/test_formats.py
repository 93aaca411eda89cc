"""FR Core Patient, HL7 v2 PID and CDA patientRole: round trips, the INS only when
qualified, broken input named precisely."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from esante.core.errors import Invalid
from esante.fhir import frcore
from esante.identity import formats
from esante.identity.formats import PatientIdentity

KNOWN = "279035121518989"
LOCAL_OID = "1.2.250.1.999.1.75000001"


def qualified(**change) -> PatientIdentity:
    values = {"birth_name": "D'ARC-MARTIN", "first_names": ["JEANNE", "MARIE-CLAIRE"],
              "sex": "F", "birth_date": "1979-03-04", "birth_place": "51215",
              "used_name": "ROUX", "used_first_name": "JEANNETTE", "status": "QUAL",
              "matricule": KNOWN, "oid": formats.OID_NIR, "local_id": "IPP-42",
              "local_oid": LOCAL_OID, "validation_mode": "CN",
              "validation_date": "2026-11-02", "collection_method": "INSI",
              "collection_date": "2026-11-01"} | change
    return PatientIdentity(**values)


def bare(p: PatientIdentity) -> PatientIdentity:
    """What a CDA patientRole keeps: no identity-check details (nor status: passed in)."""
    from dataclasses import replace

    return replace(p, validation_mode="", validation_date="", collection_method="",
                   collection_date="")


def v2_kept(p: PatientIdentity) -> PatientIdentity:
    """What HL7 v2 (PID + ZFD) keeps: all but the date of the document check."""
    from dataclasses import replace

    return replace(p, validation_date="")


def test_fhir_round_trip_with_ins_slices_and_reliability():
    p = qualified()
    resource = formats.to_fhir(p)
    ins = resource["identifier"][0]
    assert ins["system"] == "urn:oid:1.2.250.1.213.1.4.8" and ins["value"] == KNOWN
    assert ins["type"]["coding"][0] == {"system": formats.TYPE_SYSTEM, "code": "INS-NIR"}
    assert frcore.identity_status(resource) == "QUAL"
    reliability = {e["url"]: e for e in resource["extension"][0]["extension"]}
    assert reliability["identityStatus"]["valueCoding"]["system"].endswith("fr-core-cs-v2-0445")
    assert reliability["validationMode"]["valueCoding"]["code"] == "CN"
    assert reliability["validationDate"]["valueDate"] == "2026-11-02"
    assert reliability["methodCollection"]["valueCoding"] == {
        "system": formats.METHOD_SYSTEM, "code": "INSI"}
    assert reliability["dateCollection"]["valueDate"] == "2026-11-01"
    assert frcore.check(resource) == []  # the FHIR domain's own FR Core rules agree
    assert formats.from_fhir(resource) == p


def test_hl7_pid_round_trip():
    p = qualified()
    pid = formats.to_pid(p)
    fields = pid.split("|")
    assert fields[3].startswith(f"{KNOWN}^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.8&ISO^INS~")
    assert fields[5] == "D'ARC-MARTIN^JEANNE^MARIE-CLAIRE^^^^L~ROUX^JEANNETTE^^^^^D"
    assert (fields[7], fields[8], fields[23], fields[32]) == ("19790304", "F", "51215", "QUAL")
    assert formats.from_pid(pid) == bare(p)  # a PID alone: the status, no check details
    message = formats.to_v2(p)
    zfd = message.split("\r")[1].split("|")
    assert (zfd[0], zfd[5], zfd[6], zfd[7]) == ("ZFD", "INSI", "20261101", "CN")
    assert formats.from_pid(message) == v2_kept(p)


def test_zfd_only_when_something_to_say_and_broken_zfd():
    assert formats.to_v2(bare(qualified())) == formats.to_pid(bare(qualified()))
    pid = formats.to_pid(qualified())
    for zfd, field in (("ZFD|||||XX", "ZFD-5"), ("ZFD||||||2026-11", "ZFD-6"),
                       ("ZFD|||||||ZZ", "ZFD-7")):
        with pytest.raises(Invalid, match=field):
            formats.from_pid(pid + "\r" + zfd)


def test_cda_round_trip():
    p = qualified()
    xml = formats.to_cda(p)
    assert f'<id root="1.2.250.1.213.1.4.8" extension="{KNOWN}" />' in xml
    assert formats.from_cda(xml, status_code="QUAL") == bare(p)


def test_fhir_to_hl7_to_cda_and_back():
    p = qualified()
    through = formats.from_fhir(formats.to_fhir(p))
    through = formats.from_pid(formats.to_v2(through))
    assert through == v2_kept(p)  # PAM France has no field for the document-check date
    through = formats.from_cda(formats.to_cda(through), status_code=through.status)
    assert through == bare(p)  # the CDA patientRole carries none of the check's details


@pytest.mark.parametrize("status", ["PROV", "VALI", "RECUP"])
def test_only_a_qualified_identity_carries_the_ins(status):
    p = qualified(status=status)
    assert all("1.2.250.1.213.1.4" not in i["system"] for i in formats.to_fhir(p)["identifier"])
    assert KNOWN not in formats.to_pid(p) and KNOWN not in formats.to_cda(p)
    assert formats.from_pid(formats.to_pid(p)).status == status


def test_local_identity_through_the_gate(db, personas, ref):
    from esante.identity import service
    from tests.identity.conftest import principal, traits_of

    clerk = principal(personas, "clerk_a")
    identity, _ = service.create(db, clerk, finess=personas.est["A"].finess,
                                 traits=traits_of(ref.jeanne), document="CNI")
    out = formats.from_local(identity, service.decode_traits(db, identity), local_oid=LOCAL_OID)
    assert out.matricule == ""  # validated, not qualified
    service.match_directory(db, clerk, identity)
    out = formats.from_local(identity, service.decode_traits(db, identity), local_oid=LOCAL_OID)
    assert out.matricule == ref.jeanne.matricule and out.status == "QUAL"


@pytest.mark.parametrize(("segment", "message"), [
    ("PID|1||X^^^&1.2&ISO^PI||||19790304|F", "PID-5 : nom absent"),
    ("PID|1||X^^^&1.2&ISO^PI||DUPONT^JEAN^^^^^L||1979034|M", "PID-7 : date de naissance"),
    ("PID|1||X^^^&1.2&ISO^PI||DUPONT^JEAN^^^^^L||19790304|X", "PID-8 : sexe M ou F"),
    ("PID|1||279035121518900^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.8&ISO^INS||DUPONT^JEAN^^^^^L"
     "||19790304|M", "PID-3 : INS invalide : clé attendue 89, reçue 00"),
    ("PID|1||279035121518989^^^X&1.2.3&ISO^INS||DUPONT^JEAN^^^^^L||19790304|M",
     "PID-3 : OID d'INS inconnu 1.2.3"),
    ("EVN|A28", "sans segment PID"),
])
def test_broken_pid(segment, message):
    with pytest.raises(Invalid, match=message):
        formats.from_pid(segment)


def test_broken_fhir_and_cda():
    bad = formats.to_fhir(qualified())
    bad["identifier"][0]["value"] = KNOWN[:13] + "00"
    with pytest.raises(Invalid, match="clé attendue 89, reçue 00"):
        formats.from_fhir(bad)
    with pytest.raises(Invalid, match="XML invalide"):
        formats.from_cda("<patientRole><patient>")


names = st.lists(st.from_regex(r"[A-Z]{1,8}(-[A-Z]{1,6})?", fullmatch=True), min_size=1,
                 max_size=3)


@settings(max_examples=50)
@given(st.from_regex(r"[A-Z]{1,10}([ '-][A-Z]{1,8})?", fullmatch=True), names,
       st.sampled_from("MF"), st.dates().map(lambda d: d.isoformat()).filter(
           lambda d: d >= "1900"), st.sampled_from(["", "75056", "2A004", "99109"]))
def test_round_trip_property(birth_name, first_names, sex, birth_date, place):
    p = PatientIdentity(birth_name=birth_name, first_names=first_names, sex=sex,
                        birth_date=birth_date, birth_place=place, status="VALI",
                        local_id="IPP&1|2", local_oid=LOCAL_OID)
    assert formats.from_fhir(formats.to_fhir(p)) == p
    assert formats.from_pid(formats.to_pid(p)) == p
    assert formats.from_cda(formats.to_cda(p), status_code="VALI") == p


def test_export_route(client, personas, db, ref):
    from esante.identity import service
    from tests.identity.conftest import principal, traits_of

    clerk = principal(personas, "clerk_a")
    identity, _ = service.create(db, clerk, finess=personas.est["A"].finess,
                                 traits=traits_of(ref.jeanne), document="CNI")
    h = personas.auth("clerk_a")
    url = f"/api/identity/identities/{identity.id}/export"
    assert ref.jeanne.matricule not in client.get(url, headers=h).text  # validated only
    service.match_directory(db, clerk, identity)
    fhir = client.get(url, headers=h).json()
    assert fhir["identifier"][0]["value"] == ref.jeanne.matricule
    v2 = formats.from_pid(client.get(url, params={"format": "hl7"}, headers=h).text)
    assert v2.matricule == ref.jeanne.matricule
    today = identity.directory_checked_at.date().isoformat()
    assert (v2.collection_method, v2.collection_date, v2.validation_mode) == ("INSI", today, "CN")
    cda = client.get(url, params={"format": "cda"}, headers=h).text
    assert formats.from_cda(cda, status_code="QUAL").matricule == ref.jeanne.matricule
    assert client.get(url, params={"format": "pdf"}, headers=h).status_code == 422


def test_create_from_fhir_or_hl7_starts_provisional(client, personas, db):
    a = personas.est["A"].finess
    url = f"/api/identity/establishments/{a}/identities/from-message"
    h = personas.auth("clerk_a")
    sent = qualified()
    r = client.post(url, json=formats.to_fhir(sent), headers=h)
    assert r.status_code == 201, r.text
    made = r.json()["identity"]
    assert made["status"] == "PROV"  # the sender's QUAL is not inherited
    assert made["traits"]["matricule"] == KNOWN and made["local_id"] == "IPP-42"
    r = client.post(url, content=formats.to_pid(sent), headers={
        **h, "Content-Type": "x-application/hl7-v2+er7"})
    assert r.status_code == 201 and r.json()["candidates"][0]["id"] == made["id"]
    broken = client.post(url, content="PID|1||||DUPONT^JEAN^^^^^L||19791|M", headers={
        **h, "Content-Type": "x-application/hl7-v2+er7"})
    assert broken.status_code == 422 and "PID-7" in broken.json()["detail"]
    latin = client.post(url, content="PID|1||||DUPONT^J\xe9R\xd4ME".encode("latin-1"),
                        headers={**h, "Content-Type": "x-application/hl7-v2+er7"})
    assert latin.status_code == 422 and "UTF-8" in latin.json()["detail"]
