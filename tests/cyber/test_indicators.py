"""Indicator sharing through the API: TLP 2.0 and scopes (one visibility rule for reads,
searches, exports and counts), validation, warning lists, sightings."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from sqlalchemy import func, select

from esante.core.audit import AuditEvent
from esante.cyber.indicators import service
from esante.cyber.indicators.access import audience_of_establishment
from esante.cyber.indicators.models import Indicator, IocEvent, Sighting

API = "/api/cyber/indicators"


def share(client, personas, who: str = "rssi_a", *, est: str | None = "A", ok: int = 201,
          **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"title": "Campagne d'hameçonnage « facture impayée »",
                            "tlp": "amber", "scope": "region",
                            "indicators": [{"value": "chu-paris-factures.com"},
                                           {"value": "hxxp://chu-paris-factures[.]com/login.php"},
                                           {"value": "185.234.72.19", "comment": "relais"}]}
    if est:
        body["source_finess"] = personas.est[est].finess
    body.update(fields)
    r = client.post(f"{API}/events", headers=personas.auth(who), json=body)
    assert r.status_code == ok, r.text
    return r.json()  # type: ignore[no-any-return]


def titles(client, personas, who: str) -> set[str]:
    r = client.get(f"{API}/events", headers=personas.auth(who))
    assert r.status_code == 200, r.text
    return {e["title"] for e in r.json()["items"]}


STRICT = {"title": "Compte VPN compromis du CHU (AMBER+STRICT)", "tlp": "amber+strict",
          "scope": "establishment",
          "indicators": [{"value": "91.203.5.77"}, {"value": "vpn-chu-paris.example-bad.net"},
                         {"value": "e" * 64}]}


def test_amber_strict_never_reaches_another_establishment(client, personas, db) -> None:
    ev = share(client, personas, **STRICT)
    assert ev["tlp"] == "amber+strict"
    b = personas.auth("rssi_b")
    # Not listed, not readable, not found by search, not counted, not exported...
    assert STRICT["title"] not in titles(client, personas, "rssi_b")
    assert client.get(f"{API}/events/{ev['id']}", headers=b).status_code == 404
    assert client.get(f"{API}/search", params={"value": "91.203.5.77"}, headers=b).json() == []
    assert client.get(f"{API}/counts", headers=b).json() == {"events": 0, "indicators": 0}
    for fmt in ("stix", "misp", "csv"):
        out = client.get(f"{API}/export", params={"format": fmt}, headers=b)
        assert out.status_code == 200
        assert "91.203.5.77" not in out.text and "example-bad" not in out.text, fmt
    one = client.get(f"{API}/export", params={"format": "stix", "event_id": ev["id"]}, headers=b)
    assert one.status_code == 404
    # ... nor matched against B's logs, nor visible to A's regional agency (another body).
    aud_b = audience_of_establishment(db, personas.est["B"].finess)
    assert not [k for k in service.active_indicators(db, aud_b) if k.value == "91.203.5.77"]
    assert STRICT["title"] not in titles(client, personas, "regional")
    # A itself and the national cell see it, counts included.
    assert STRICT["title"] in titles(client, personas, "director_a")
    assert STRICT["title"] in titles(client, personas, "analyst")
    assert client.get(f"{API}/counts", headers=personas.auth("rssi_a")).json() == {
        "events": 1, "indicators": 3}
    aud_a = audience_of_establishment(db, personas.est["A"].finess)
    assert {k.value for k in service.active_indicators(db, aud_a)} >= {"91.203.5.77"}


def test_amber_strict_cannot_be_aimed_elsewhere(client, personas, db) -> None:
    r = client.post(f"{API}/events", headers=personas.auth("rssi_a"), json={
        **STRICT, "source_finess": personas.est["A"].finess, "scope": "national"})
    assert r.status_code == 422
    assert "AMBER+STRICT" in r.json()["detail"]
    r = client.post(f"{API}/events", headers=personas.auth("rssi_a"), json={
        **STRICT, "source_finess": personas.est["A"].finess,
        "scope_finess": personas.est["B"].finess})
    assert r.status_code == 422
    assert db.scalar(select(func.count()).select_from(IocEvent)) == 0


def test_scopes_region_national_and_named(client, personas) -> None:
    share(client, personas, title="Région Île-de-France (AMBER)")
    share(client, personas, title="Nationale (GREEN)", tlp="green", scope="national")
    share(client, personas, "analyst", est=None, title="Rouge pour Lyon", tlp="red",
          scope="organisations", recipients=[personas.est["B"].finess])
    share(client, personas, "analyst", est=None, title="Public (CLEAR)", tlp="clear",
          scope="establishment", scope_finess=personas.est["C"].finess)
    assert titles(client, personas, "rssi_a") == {"Région Île-de-France (AMBER)",
                                                  "Nationale (GREEN)", "Public (CLEAR)"}
    assert titles(client, personas, "rssi_b") == {"Nationale (GREEN)", "Rouge pour Lyon",
                                                  "Public (CLEAR)"}
    assert titles(client, personas, "regional") == {"Région Île-de-France (AMBER)",
                                                    "Nationale (GREEN)", "Public (CLEAR)"}
    assert len(titles(client, personas, "analyst")) == 4


def test_red_needs_named_recipients_and_unknown_tlp_is_refused(client, personas, db) -> None:
    r = client.post(f"{API}/events", headers=personas.auth("analyst"), json={
        "title": "Rouge", "tlp": "red", "scope": "national", "indicators": []})
    assert r.status_code == 422 and "TLP:RED" in r.json()["detail"]
    r = client.post(f"{API}/events", headers=personas.auth("rssi_a"), json={
        "title": "Orange", "tlp": "orange", "scope": "region",
        "source_finess": personas.est["A"].finess})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert db.scalar(select(func.count()).select_from(IocEvent)) == 0


def test_bad_indicator_saves_nothing(client, personas, db) -> None:
    before = db.scalar(select(func.count()).select_from(AuditEvent))
    r = client.post(f"{API}/events", headers=personas.auth("rssi_a"), json={
        "title": "Mauvais", "tlp": "green", "scope": "region",
        "source_finess": personas.est["A"].finess,
        "indicators": [{"value": "evil.fr"}, {"kind": "sha256", "value": "abc123"}]})
    assert r.status_code == 422
    assert "Empreinte SHA-256" in r.json()["detail"] and "64 caractères" in r.json()["detail"]
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(IocEvent)) == 0
    assert db.scalar(select(func.count()).select_from(Indicator)) == 0
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == before


def test_only_the_security_officer_or_the_cell_shares(client, personas) -> None:
    share(client, personas, "director_a", ok=403)
    share(client, personas, "rssi_b", ok=403)  # for A
    share(client, personas, "rssi_a", est=None, ok=403)  # as the cell
    share(client, personas, "analyst", est=None, scope="national")


def test_values_are_normalised_and_warning_lists_flag_benign_ones(client, personas, db) -> None:
    ev = share(client, personas, indicators=[
        {"value": "WWW.Evil-Example.FR."}, {"value": "10.1.2.3"}, {"value": "login.microsoftonline.com"},
        {"value": "d41d8cd98f00b204e9800998ecf8427e"}, {"value": "Phisher@Evil-Example.fr"}])
    inds = {i["value"]: i for i in ev["indicators"]}
    assert set(inds) == {"www.evil-example.fr", "10.1.2.3", "login.microsoftonline.com",
                         "d41d8cd98f00b204e9800998ecf8427e", "phisher@evil-example.fr"}
    assert inds["10.1.2.3"]["warning"] == "reserved-ranges"
    assert inds["login.microsoftonline.com"]["warning"] == "popular-domains"
    assert inds["d41d8cd98f00b204e9800998ecf8427e"]["warning"] == "empty-file-hashes"
    assert inds["www.evil-example.fr"]["warning"] is None
    assert inds["d41d8cd98f00b204e9800998ecf8427e"]["kind"] == "md5"
    aud = audience_of_establishment(db, personas.est["A"].finess)
    active = {k.value for k in service.active_indicators(db, aud)}
    assert active == {"www.evil-example.fr", "phisher@evil-example.fr"}


def test_sightings_and_search(client, personas, db) -> None:
    ev = share(client, personas, scope="national", tlp="green")
    ind = next(i for i in ev["indicators"] if i["kind"] == "domain")
    r = client.post(f"{API}/{ind['id']}/sightings", headers=personas.auth("rssi_b"),
                    json={"kind": "seen", "note": "vu sur le proxy"})
    assert r.status_code == 201, r.text
    assert r.json()["finess"] == personas.est["B"].finess and r.json()["seen"] == 1
    r = client.post(f"{API}/{ind['id']}/sightings", headers=personas.auth("director_a"),
                    json={"kind": "false_positive"})
    assert r.json()["false_positive"] == 1
    # A regional officer has no establishment to sight for.
    assert client.post(f"{API}/{ind['id']}/sightings", headers=personas.auth("regional"),
                       json={"kind": "seen"}).status_code == 403
    assert db.scalar(select(func.count()).select_from(Sighting)) == 2
    hits = client.get(f"{API}/search", params={"value": "chu-paris-factures.com"},
                      headers=personas.auth("rssi_b")).json()
    assert {h["indicator"]["kind"] for h in hits} == {"domain", "url"}


def test_expired_and_withdrawn_events_do_not_match(client, personas, db) -> None:
    old = share(client, personas, title="Expiré", expires_at="2020-01-01T00:00:00Z",
                indicators=[{"value": "old-campaign.example.org"}])
    gone = share(client, personas, title="Retiré", indicators=[{"value": "gone.example.org"}])
    assert client.post(f"{API}/events/{gone['id']}/withdraw",
                       headers=personas.auth("rssi_a")).status_code == 200
    aud = audience_of_establishment(db, personas.est["A"].finess)
    values = {k.value for k in service.active_indicators(db, aud)}
    assert "old-campaign.example.org" not in values and "gone.example.org" not in values
    assert old["expires_at"] is not None


def test_csv_export(client, personas) -> None:
    share(client, personas)
    r = client.get(f"{API}/export", params={"format": "csv"}, headers=personas.auth("rssi_a"))
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert {row["value"] for row in rows} == {"chu-paris-factures.com", "185.234.72.19",
                                              "http://chu-paris-factures.com/login.php"}
    assert {row["tlp"] for row in rows} == {"TLP:AMBER"}


@pytest.mark.parametrize("fmt", ["stix", "misp"])
def test_export_is_audited(client, personas, db, fmt) -> None:
    share(client, personas)
    r = client.get(f"{API}/export", params={"format": fmt}, headers=personas.auth("rssi_a"))
    assert r.status_code == 200
    json.loads(r.text)
    audit = db.scalars(select(AuditEvent).where(AuditEvent.action == "cyber.ioc.export")).all()
    assert [a.details["format"] for a in audit] == [fmt]


def test_ght_scope_reaches_the_group_only(client, personas, db) -> None:
    from esante.core.orgs import service as orgs

    ght = orgs.get_or_create_ght(db, name="GHT Test", region_code="11")
    personas.est["A"].ght_id = ght.id
    personas.est["C"].ght_id = ght.id  # another region, same group (as a test case)
    db.flush()
    share(client, personas, title="Au GHT", scope="ght", tlp="amber",
          indicators=[{"value": "ght-only.example.net"}])
    seen = {f: {k.value for k in service.active_indicators(db, audience_of_establishment(db, f))}
            for f in (personas.est[x].finess for x in "ABC")}
    a, b, c = (personas.est[x].finess for x in "ABC")
    assert "ght-only.example.net" in seen[a] and "ght-only.example.net" in seen[c]
    assert "ght-only.example.net" not in seen[b]


def test_stix_tlp1_markings_are_read(client, personas) -> None:
    import stix2

    ind = stix2.Indicator(pattern="[domain-name:value = 'old-producer.example.org']",
                          pattern_type="stix", valid_from="2026-01-01T00:00:00Z",
                          object_marking_refs=[stix2.TLP_WHITE])
    bundle = stix2.Bundle(stix2.TLP_WHITE, ind).serialize()
    r = client.post(f"{API}/import", headers=personas.auth("analyst"),
                    params={"format": "stix", "tlp": "amber", "scope": "national"},
                    files={"file": ("b.json", bundle.encode(), "application/json")})
    assert r.status_code == 201, r.text
    assert r.json()[0]["tlp"] == "clear"
