"""FHIR search through the index: parameters, modifiers, prefixes, paging, sort,
_include/_revinclude, _summary=count, _elements, lenient and strict handling."""

from __future__ import annotations

from esante.fhir.frcore import OID_INS_NIR
from tests.fhir.conftest import INS_NIR, observation_body


def ids(bundle: dict) -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", [])
            if e.get("search", {}).get("mode") == "match"]


def test_patient_search_parameters(fhir, make_patient) -> None:
    a = make_patient(family="Lefèvre", given="Élodie", ins=INS_NIR, birth="1979-03-15")
    b = make_patient(family="Lefebvre", given="Marc", birth="1985-07-02", holder=None)
    c = make_patient(family="Dupont", given="Anne", birth="2001-12-24", holder=None)

    def find(query: str) -> list[str]:
        r = fhir("doctor", "GET", f"/Patient?{query}")
        assert r.status_code == 200, r.text
        return sorted(ids(r.json()))

    assert find(f"identifier={OID_INS_NIR}|{INS_NIR}") == [a]
    assert find(f"identifier={INS_NIR}") == [a]
    assert find("family=LEFEV") == [a]  # accents and case ignored, prefix match
    assert find("family=lef") == sorted([a, b])
    assert find("family:exact=Lefèvre") == [a]
    assert find("family:exact=lefèvre") == []
    assert find("name:contains=ebv") == [b]
    assert find("given=elodie") == [a]
    assert find("birthdate=1985-07-02") == [b]
    assert find("birthdate=1985") == [b]
    assert find("birthdate=ge1985-01-01") == sorted([b, c])
    assert find("birthdate=lt1985-01-01") == [a]
    assert find("birthdate=gt2000&birthdate=le2001-12-31") == [c]
    assert find("gender=female") == sorted([a, b, c])
    assert find("family=lef,dup") == sorted([a, b, c])
    assert find(f"_id={a},{c}") == sorted([a, c])
    assert find("identifier:missing=true") == []
    assert find("telecom:missing=true") == sorted([a, b, c])


def test_observation_search_by_patient_code_date_category(fhir, make_patient) -> None:
    pid = make_patient()
    other = make_patient(holder=None, family="Autre")
    weights = [fhir("doctor", "POST", "/Observation",
                    observation_body(pid, when=f"2026-0{m}-10T08:00:00Z")).json()["id"]
               for m in (1, 2, 3)]
    fhir("doctor", "POST", "/Observation", observation_body(other))
    bp = fhir("doctor", "POST", "/Observation", observation_body(pid, code="85354-9")).json()["id"]

    def find(query: str) -> list[str]:
        r = fhir("doctor", "GET", f"/Observation?{query}")
        assert r.status_code == 200, r.text
        return ids(r.json())

    assert sorted(find(f"patient={pid}")) == sorted([*weights, bp])
    assert sorted(find(f"subject=Patient/{pid}&code=http://loinc.org|29463-7")) == sorted(weights)
    assert find(f"patient={pid}&date=ge2026-02-01&date=lt2026-03-01") == [weights[1]]
    assert len(find(f"patient={pid}&category=vital-signs")) == 4
    assert find(f"patient={pid}&_sort=-date&code=29463-7") == list(reversed(weights))
    assert find(f"patient={pid}&_sort=date&code=29463-7") == weights
    assert find("subject:Patient.family=autre") != []


def test_paging_links_and_count(fhir, make_patient) -> None:
    pid = make_patient()
    for m in range(1, 6):
        fhir("doctor", "POST", "/Observation", observation_body(pid, value=70 + m))
    first = fhir("doctor", "GET", f"/Observation?patient={pid}&_count=2").json()
    assert first["total"] == 5
    assert len(ids(first)) == 2
    links = {link["relation"]: link["url"] for link in first["link"]}
    assert "next" in links
    assert "previous" not in links
    seen = ids(first)
    url = links["next"]
    while url:
        page = fhir("doctor", "GET", url.split("/fhir", 1)[1]).json()
        seen += ids(page)
        url = {link["relation"]: link["url"] for link in page["link"]}.get("next")
    assert len(seen) == len(set(seen)) == 5

    count = fhir("doctor", "GET", f"/Observation?patient={pid}&_summary=count").json()
    assert count["total"] == 5
    assert "entry" not in count


def test_include_revinclude_and_elements(fhir, make_patient) -> None:
    pid = make_patient()
    oid = fhir("doctor", "POST", "/Observation", observation_body(pid)).json()["id"]
    inc = fhir("doctor", "GET", f"/Observation?_id={oid}&_include=Observation:patient").json()
    modes = {(e["resource"]["resourceType"], e["search"]["mode"]) for e in inc["entry"]}
    assert modes == {("Observation", "match"), ("Patient", "include")}
    rev = fhir("doctor", "GET", f"/Patient?_id={pid}&_revinclude=Observation:subject").json()
    assert {e["resource"]["resourceType"] for e in rev["entry"]} == {"Patient", "Observation"}
    assert rev["total"] == 1
    slim = fhir("doctor", "GET", f"/Patient?_id={pid}&_elements=gender").json()
    resource = slim["entry"][0]["resource"]
    assert "gender" in resource
    assert "name" not in resource
    assert resource["meta"]["tag"][0]["code"] == "SUBSETTED"


def test_unknown_parameter_is_ignored_and_reported_unless_strict(fhir, make_patient) -> None:
    make_patient()
    lenient = fhir("doctor", "GET", "/Patient?nickname=x").json()
    outcome = [e for e in lenient["entry"] if e["search"]["mode"] == "outcome"]
    assert "nickname" in outcome[0]["resource"]["issue"][0]["diagnostics"]
    assert lenient["total"] == 1
    strict = fhir("doctor", "GET", "/Patient?nickname=x", headers={"Prefer": "handling=strict"})
    assert strict.status_code == 400
