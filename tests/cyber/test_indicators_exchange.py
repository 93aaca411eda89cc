"""STIX 2.1 and MISP round trips: what is exported validates with the stix2 parser and loads
in pymisp, keeps its TLP 2.0 marking, and imports back to the same values."""

from __future__ import annotations

import json

import stix2
from pymisp import MISPEvent
from sqlalchemy import func, select

from esante.cyber.indicators.exchange import TLP2_EXTENSION, TLP2_IDS
from esante.cyber.indicators.models import IocEvent
from tests.cyber.test_indicators import API, share

VALUES = {"chu-paris-factures.com", "http://chu-paris-factures.com/login.php", "185.234.72.19",
          "2001:db8:85a3::8a2e:370:7334", "phisher@chu-paris-factures.com",
          "44d88612fea8a8f36de82e1278abb02f",
          "3395856ce81f2b7382dee72602f798b642f14140",
          "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"}


def _event(client, personas, tlp: str = "amber") -> dict:
    return share(client, personas, tlp=tlp, title="Rançongiciel : infrastructure de commande",
                 indicators=[{"value": v} for v in sorted(VALUES)])


def test_stix_bundle_validates_and_round_trips(client, personas, db) -> None:
    ev = _event(client, personas)
    r = client.get(f"{API}/export", params={"format": "stix", "event_id": ev["id"]},
                   headers=personas.auth("rssi_a"))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/stix+json")
    bundle = stix2.parse(r.text, allow_custom=False)  # the reference parser validates it
    by_type: dict[str, list] = {}
    for obj in bundle.objects:
        by_type.setdefault(obj.type, []).append(obj)
    assert len(by_type["indicator"]) == len(VALUES)
    (mark,) = by_type["marking-definition"]
    assert mark.id == TLP2_IDS["amber"]
    assert mark.extensions[TLP2_EXTENSION]["tlp_2_0"] == "amber"
    assert all(i.object_marking_refs == [mark.id] for i in by_type["indicator"])
    (report,) = by_type["report"]
    assert report.name == ev["title"] and len(report.object_refs) == len(VALUES)
    patterns = {i.pattern for i in by_type["indicator"]}
    assert "[file:hashes.'SHA-256' = '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f']" \
        in patterns
    assert "[ipv6-addr:value = '2001:db8:85a3::8a2e:370:7334']" in patterns
    # Import as the cell, sharing nationally: same values, TLP taken from the file.
    r2 = client.post(f"{API}/import", headers=personas.auth("analyst"),
                     params={"format": "stix", "tlp": "green", "scope": "national"},
                     files={"file": ("bundle.json", r.content, "application/json")})
    assert r2.status_code == 201, r2.text
    (imported,) = r2.json()
    assert imported["tlp"] == "amber" and imported["title"] == ev["title"]
    detail = client.get(f"{API}/events/{imported['id']}", headers=personas.auth("analyst"))
    assert {i["value"] for i in detail.json()["indicators"]} == VALUES


def test_misp_json_loads_in_pymisp_and_round_trips(client, personas) -> None:
    ev = _event(client, personas, tlp="green")
    r = client.get(f"{API}/export", params={"format": "misp", "event_id": ev["id"]},
                   headers=personas.auth("rssi_a"))
    me = MISPEvent()
    me.load(r.text)
    assert me.info == ev["title"]
    assert {t.name for t in me.tags} == {"tlp:green", "PAP:AMBER"}
    types = {a.type for a in me.attributes}
    assert {"domain", "url", "ip-dst", "email-src", "md5", "sha1", "sha256"} <= types
    assert {str(a.value) for a in me.attributes} == VALUES
    r2 = client.post(f"{API}/import", headers=personas.auth("rssi_b"),
                     params={"format": "misp", "tlp": "amber", "scope": "region",
                           "source_finess": personas.est["B"].finess},
                     files={"file": ("event.json", r.content, "application/json")})
    assert r2.status_code == 201, r2.text
    assert r2.json()[0]["tlp"] == "green"
    assert r2.json()[0]["indicator_count"] == len(VALUES)


def test_misp_attributes_of_other_tools(client, personas) -> None:
    doc = {"Event": {"info": "Événement d'un MISP régional", "Tag": [{"name": "tlp:amber+strict"}],
                     "Attribute": [
                         {"type": "hostname", "value": "c2.bad-host.example", "to_ids": True},
                         {"type": "filename|sha256", "value": "facture.exe|" + "a" * 64},
                         {"type": "ip-src", "value": "198.51.100.77"},
                         {"type": "btc", "value": "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"}]}}
    r = client.post(f"{API}/import", headers=personas.auth("rssi_a"),
                    params={"format": "misp", "tlp": "amber+strict", "scope": "establishment",
                          "source_finess": personas.est["A"].finess},
                    files={"file": ("e.json", json.dumps(doc).encode(), "application/json")})
    assert r.status_code == 201, r.text
    (ev,) = r.json()
    assert ev["tlp"] == "amber+strict" and ev["indicator_count"] == 3


def test_bad_files_are_refused_and_nothing_is_saved(client, personas, db) -> None:
    def post(fmt: str, content: bytes, **form: str) -> dict:
        r = client.post(f"{API}/import", headers=personas.auth("analyst"),
                        params={"format": fmt, "tlp": "green", "scope": "national", **form},
                        files={"file": ("f.json", content, "application/json")})
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        return r.json()

    assert "STIX" in post("stix", b'{"type": "bundle", "id": "nope", "objects": []}')["detail"]
    assert "MISP" in post("misp", b"not json at all")["detail"]
    bad_value = {"Event": {"info": "x", "Attribute": [{"type": "domain", "value": "evil.fr"},
                                                       {"type": "md5", "value": "zz"}]}}
    assert "MD5" in post("misp", json.dumps(bad_value).encode())["detail"]
    marked = {"Event": {"info": "Rouge", "Tag": [{"name": "tlp:red"}],
                        "Attribute": [{"type": "domain", "value": "evil.fr"}]}}
    assert "TLP:RED" in post("misp", json.dumps(marked).encode())["detail"]
    assert "TLP inconnu" in post("misp", json.dumps({"Event": {
        "info": "x", "Tag": [{"name": "tlp:orange"}],
        "Attribute": [{"type": "domain", "value": "evil.fr"}]}}).encode())["detail"]
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(IocEvent)) == 0
