"""Threat watch through the API, the pages and the CLI: inventories, advisories typed or
imported from CSAF, matching and alerts (in-app and e-mail), their follow-up, the national
progress, who sees what, and bad input that saves nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from esante.core.accounts import service as accounts
from esante.core.audit import Actor, AuditEvent
from esante.core.notifications import service as notifications_service
from esante.core.notifications.models import Notification, OutboundMail
from esante.core.settings import get_settings
from esante.cyber.threatwatch.models import (
    Advisory,
    AffectedProduct,
    Alert,
    AlertEvent,
    InstalledProduct,
)
from tests.core.test_auth import csrf_of, login

DATA = Path(__file__).parents[2] / "src/esante/cyber/threatwatch/data"
HTTPD = "cpe:2.3:a:apache:http_server:{}:*:*:*:*:*:*:*"
VECTOR = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"


def csaf(name: str = "csaf-apache-httpd-2023.json") -> dict[str, Any]:
    return json.loads((DATA / name).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def counts(db) -> tuple[int, ...]:  # type: ignore[no-untyped-def]
    db.expire_all()
    return tuple(db.scalar(select(func.count()).select_from(m)) or 0 for m in (
        InstalledProduct, Advisory, AffectedProduct, Alert, AlertEvent, AuditEvent, Notification))


@pytest.fixture
def api(client, personas):  # type: ignore[no-untyped-def]
    def call(who: str, method: str, path: str, status: int = 200, **kw: Any) -> Any:
        r = client.request(method, path, headers=personas.auth(who), **kw)
        assert r.status_code == status, r.text
        if status >= 400:
            assert r.headers["content-type"].startswith("application/problem+json")
            return r.json()
        return r.json() if r.content else None

    return call


@pytest.fixture
def inventories(api, personas):  # type: ignore[no-untyped-def]
    """A runs httpd 2.4.55 (affected by CVE-2023-25690), B 2.4.41 (affected), C 2.4.58."""
    for who, key, version in (("rssi_a", "A", "2.4.55"), ("rssi_b", "B", "2.4.41")):
        api(who, "POST", f"/api/cyber/inventories/{personas.est[key].finess}/products", 201,
            json={"cpe": HTTPD.format(version), "label": "Serveur web"})
    return personas


def publish(api, **over: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    body = {"title": "Apache HTTP Server : contournement de requêtes", "cvss_vector": VECTOR,
            "cve_ids": ["CVE-2023-25690"], "tlp": "CLEAR",
            "affected": [{"cpe": HTTPD.format("*"), "versionStartIncluding": "2.4.0",
                          "versionEndIncluding": "2.4.55"}],
            "recommendations": "Mettre à jour en 2.4.56.",
            "references": ["https://httpd.apache.org/security/vulnerabilities_24.html"]} | over
    return api("analyst", "POST", "/api/cyber/advisories", 201, json=body)  # type: ignore


def test_publishing_alerts_the_affected_establishments_only(api, inventories, db, monkeypatch):
    relay = get_settings().model_copy(update={"smtp_host": "relay.test"})
    monkeypatch.setattr(notifications_service, "get_settings", lambda: relay)
    advisory = publish(api)
    assert advisory["cvss_score"] == "9.8" and advisory["severity"] == "Critical"
    assert advisory["alerted_establishments"] == 2
    alerts = db.scalars(select(Alert).where(Alert.advisory_id == advisory["id"])).all()
    assert sorted(a.finess for a in alerts) == sorted(
        inventories.est[k].finess for k in ("A", "B"))
    a_alert = next(a for a in alerts if a.finess == inventories.est["A"].finess)
    assert a_alert.matched == [{"cpe": HTTPD.format("2.4.55"), "version": "2.4.55"}]
    # in the app, for A's officer and director; and a mail for each
    for who in ("rssi_a", "director_a", "rssi_b"):
        notes = api(who, "GET", "/api/notifications")
        assert any(advisory["reference"] in n["title"] for n in notes), who
    mails = db.scalars(select(OutboundMail)).all()
    assert {m.to_addr for m in mails if advisory["reference"] in m.subject} == {
        "rssi_a@test.esante.fr", "director_a@test.esante.fr", "rssi_b@test.esante.fr"}
    assert not any("regional" in m.to_addr or "analyst" in m.to_addr for m in mails)


def test_inventory_change_rematches_open_advisories(api, inventories, personas, db):
    advisory = publish(api)
    c = personas.est["C"].finess
    csv = "cpe,nom\n" + HTTPD.format("2.4.54") + ",Serveur d'imagerie\n"
    # C has no security officer among the personas: give it one
    system = Actor.system("tests")
    officer = accounts.create_user(db, actor=system, email="rssi_c@test.esante.fr",
                                   password="correct-horse-battery-staple-42",
                                   display_name="Rssi C")
    accounts.grant_role(db, actor=system, user=officer, role="security_officer",
                        scope_kind="establishment", scope_ref=c)
    _, personas.tokens["rssi_c"] = accounts.create_token(db, actor=system, user=officer,
                                                         scopes=["read", "write"])
    db.flush()
    result = api("rssi_c", "POST", f"/api/cyber/inventories/{c}/import",
                 files={"file": ("inventaire.csv", csv.encode(), "text/csv")})
    assert result["added"] == 1 and result["new_alerts"] == 1
    alerts = api("rssi_c", "GET", "/api/cyber/alerts")["items"]
    assert [(x["advisory_id"], x["finess"]) for x in alerts] == [(advisory["id"], c)]
    # a closed advisory is no longer matched
    openssl = "cpe:2.3:a:openssl:openssl:3.0.7:*:*:*:*:*:*:*"
    other = publish(api, title="OpenSSL", affected=[{"cpe": openssl}])  # nobody runs it yet
    api("rssi_c", "POST", f"/api/cyber/advisories/{other['id']}/close", 403)
    assert api("analyst", "POST", f"/api/cyber/advisories/{other['id']}/close")["status"] \
        == "closed"
    added = api("rssi_c", "POST", f"/api/cyber/inventories/{c}/products", 201,
                json={"cpe": openssl})
    assert added["new_alerts"] == 0
    # importing again adds nothing and alerts nobody twice
    again = api("rssi_c", "POST", f"/api/cyber/inventories/{c}/import",
                files={"file": ("inventaire.csv", csv.encode(), "text/csv")})
    assert again["added"] == 0 and again["already_present"] == 1 and again["new_alerts"] == 0


def test_cyclonedx_upload_and_replace(api, personas):
    a = personas.est["A"].finess
    sbom = (DATA / "sbom-serveur-dpi.cdx.json").read_bytes()
    result = api("rssi_a", "POST", f"/api/cyber/inventories/{a}/import",
                 files={"file": ("sbom.cdx.json", sbom, "application/json")})
    assert result["format"] == "cyclonedx" and result["added"] == 4
    assert result["skipped_without_cpe"] == ["jquery 3.6.0"]
    products = api("director_a", "GET", f"/api/cyber/inventories/{a}")
    assert {(x["product"], x["version"]) for x in products} == {
        ("http_server", "2.4.55"), ("openssl", "3.0.7"), ("log4j", "2.17.1"),
        ("debian_linux", "12.0")}
    csv = b"cpe\ncpe:2.3:a:openssl:openssl:3.0.12:*:*:*:*:*:*:*\n"
    replaced = api("rssi_a", "POST", f"/api/cyber/inventories/{a}/import",
                   files={"file": ("i.csv", csv, "text/csv")}, data={"replace": "true"})
    assert replaced["removed"] == 4 and replaced["added"] == 1
    assert [x["version"] for x in api("rssi_a", "GET", f"/api/cyber/inventories/{a}")] == [
        "3.0.12"]


def test_who_sees_inventories_and_alerts(api, inventories, personas):
    publish(api)
    a, b = personas.est["A"].finess, personas.est["B"].finess
    api("rssi_b", "GET", f"/api/cyber/inventories/{a}", 403)
    api("regional", "GET", f"/api/cyber/inventories/{b}", 403)  # B is in region 84
    assert len(api("regional", "GET", f"/api/cyber/inventories/{a}")) == 1
    seen = {who: {x["finess"] for x in api(who, "GET", "/api/cyber/alerts")["items"]}
            for who in ("rssi_a", "rssi_b", "regional", "analyst")}
    assert seen == {"rssi_a": {a}, "rssi_b": {b}, "regional": {a}, "analyst": {a, b}}
    # a filter cannot widen what one sees
    assert api("rssi_a", "GET", "/api/cyber/alerts", params={"finess": b})["total"] == 0
    api("admin", "GET", "/api/cyber/alerts", 403)


def test_tlp_decides_who_reads_an_advisory(api, inventories, personas):
    openssl = "cpe:2.3:a:openssl:openssl:3.0.7:*:*:*:*:*:*:*"
    api("rssi_a", "POST", f"/api/cyber/inventories/{personas.est['A'].finess}/products", 201,
        json={"cpe": openssl})
    ids = {tlp: publish(api, title=f"Avis {tlp}", tlp=tlp, affected=[{"cpe": openssl}])["id"]
           for tlp in ("GREEN", "AMBER", "AMBER+STRICT", "RED")}
    listed = {who: {x["id"] for x in api(who, "GET", "/api/cyber/advisories")["items"]}
              for who in ("rssi_a", "director_a", "rssi_b", "regional", "analyst")}
    everything = set(ids.values())
    assert listed["rssi_a"] == listed["director_a"] == listed["analyst"] == everything
    assert listed["regional"] == {ids["GREEN"], ids["AMBER"]}  # A, alerted, is in region 11
    assert listed["rssi_b"] == {ids["GREEN"]}  # B is not alerted
    for tlp in ("AMBER", "AMBER+STRICT", "RED"):
        api("rssi_b", "GET", f"/api/cyber/advisories/{ids[tlp]}", 404)
    api("regional", "GET", f"/api/cyber/advisories/{ids['RED']}", 404)


def test_following_an_alert_and_the_national_progress(api, inventories, personas, db):
    advisory = publish(api)
    a_alert, b_alert = (api(who, "GET", "/api/cyber/alerts")["items"][0]["id"]
                        for who in ("rssi_a", "rssi_b"))
    before = counts(db)
    problem = api("rssi_a", "POST", f"/api/cyber/alerts/{a_alert}/status", 422,
                  json={"status": "accepted_risk"})
    assert "justification" in problem["detail"]
    api("rssi_a", "POST", f"/api/cyber/alerts/{a_alert}/status", 422, json={"status": "new"})
    assert counts(db) == before  # nothing saved
    api("regional", "POST", f"/api/cyber/alerts/{a_alert}/status", 403,
        json={"status": "patched"})
    api("rssi_b", "POST", f"/api/cyber/alerts/{a_alert}/status", 404,
        json={"status": "patched"})
    api("rssi_a", "POST", f"/api/cyber/alerts/{a_alert}/status", json={"status": "acknowledged"})
    done = api("director_a", "POST", f"/api/cyber/alerts/{a_alert}/status",
               json={"status": "patched", "note": "Passé en 2.4.58 le 12/03."})
    assert done["status_label"] == "corrigée"
    api("rssi_b", "POST", f"/api/cyber/alerts/{b_alert}/status",
        json={"status": "accepted_risk", "note": "Serveur isolé, remplacé en avril."})
    assert db.scalar(select(func.count()).select_from(AlertEvent)) == 3
    progress = api("analyst", "GET", f"/api/cyber/advisories/{advisory['id']}/progress")
    assert progress["alerted"] == 2 and progress["resolved"] == 2
    by_status = {c["status"]: c["count"] for c in progress["by_status"]}
    assert by_status == {"new": 0, "acknowledged": 0, "patched": 1, "not_affected": 0,
                         "accepted_risk": 1}
    regions = {r["region_code"]: r["counts"] for r in progress["by_region"]}
    assert regions["11"]["patched"] == 1 and regions["84"]["accepted_risk"] == 1
    api("rssi_a", "GET", f"/api/cyber/advisories/{advisory['id']}/progress", 403)
    api("regional", "GET", f"/api/cyber/advisories/{advisory['id']}/progress", 403)


def test_csaf_import_matches_like_a_typed_advisory(api, inventories, personas):
    result = api("analyst", "POST", "/api/cyber/advisories/csaf", 201, json=csaf())
    advisory = result["advisory"]
    assert advisory["reference"] == "CERT-SANTE-DEMO-2023-0012" and advisory["tlp"] == "CLEAR"
    assert advisory["affected"][0]["versionEndIncluding"] == "2.4.55"
    assert advisory["alerted_establishments"] == 2
    # the same tracking id twice: a conflict, nothing saved
    again = api("analyst", "POST", "/api/cyber/advisories/csaf", 409, json=csaf())
    assert "existe déjà" in again["detail"]
    fortios = api("analyst", "POST", "/api/cyber/advisories/csaf", 201,
                  json=csaf("csaf-fortios-2024.json"), params={"tlp": "RED"})
    assert fortios["advisory"]["tlp"] == "RED"
    assert fortios["skipped_without_cpe"] == ["FORTIPROXY"]
    api("rssi_a", "POST", "/api/cyber/advisories/csaf", 403, json=csaf())


@pytest.mark.parametrize(("body", "message"), [
    ({"cvss_vector": "CVSS:3.1/AV:N/AC:L"}, "vecteur CVSS invalide"),
    ({"affected": [{"cpe": "cpe:2.3:a:apache"}]}, "produit affecté n° 1"),
    ({"affected": [{"cpe": HTTPD.format("2.4.1"), "versionEndExcluding": "2.5"}]}, "bornes"),
    ({"affected": [{"cpe": HTTPD.format("*"), "versionStartIncluding": "2.5",
                    "versionEndExcluding": "2.4"}]}, "intervalle de versions vide"),
    ({"affected": [{"cpe": HTTPD.format("*"), "versionStartIncluding": "2.4",
                    "versionStartExcluding": "2.3"}]}, "une seule borne basse"),
    ({"tlp": "WHITE"}, "tlp"),
    ({"cve_ids": ["CVE-2023"]}, "cve_ids"),
    ({"affected": []}, "affected"),
])
def test_bad_advisories_save_nothing(api, inventories, db, body, message):
    before = counts(db)
    base = {"title": "Avis", "affected": [{"cpe": HTTPD.format("*")}]}
    problem = api("analyst", "POST", "/api/cyber/advisories", 422, json=base | body)
    assert message in json.dumps(problem, ensure_ascii=False)
    assert counts(db) == before


def test_bad_inventory_input_saves_nothing(api, personas, db):
    a = personas.est["A"].finess
    before = counts(db)
    problem = api("rssi_a", "POST", f"/api/cyber/inventories/{a}/products", 422,
                  json={"cpe": "cpe:2.3:a:apache:http_server"})
    assert "13" in problem["detail"]
    csv = ("cpe,nom\n" + HTTPD.format("2.4.1") + ",ok\ncpe:/a:apache:http_server:2.4,ko\n")
    problem = api("rssi_a", "POST", f"/api/cyber/inventories/{a}/import", 422,
                  files={"file": ("i.csv", csv.encode(), "text/csv")})
    assert "ligne 3" in problem["detail"] and "CPE 2.2" in problem["detail"]
    api("rssi_a", "POST", "/api/cyber/advisories/csaf", 403, content=b"{")
    problem = api("analyst", "POST", "/api/cyber/advisories/csaf", 422, content=b"{not json")
    assert "JSON illisible" in problem["detail"]
    assert counts(db) == before


# --- pages -----------------------------------------------------------------------------------

def test_pages_inventory_upload_advisory_alert_and_progress(client, personas, db):
    a = personas.est["A"].finess
    login(client, personas, "rssi_a")
    page = client.get(f"/cyber/veille/inventaire/{a}")
    assert page.status_code == 200 and "Inventaire vide" in page.text
    sbom = (DATA / "sbom-serveur-dpi.cdx.json").read_bytes()
    r = client.post(f"/cyber/veille/inventaire/{a}", follow_redirects=True,
                    data={"csrf_token": csrf_of(page.text), "action": "import"},
                    files={"file": ("sbom.json", sbom, "application/json")})
    assert "4 produit(s) ajouté(s) (cyclonedx)" in r.text and "debian_linux" in r.text
    bad = client.post(f"/cyber/veille/inventaire/{a}", follow_redirects=True,
                      data={"csrf_token": csrf_of(r.text), "action": "add",
                            "cpe": "cpe:2.3:a:x:y:1"})
    assert "6 champs" in bad.text
    client.post("/logout", data={"csrf_token": csrf_of(bad.text)})
    login(client, personas, "analyst")
    form = client.get("/cyber/veille/avis/nouveau")
    r = client.post("/cyber/veille/avis/nouveau", follow_redirects=True, data={
        "csrf_token": csrf_of(form.text), "title": "Apache HTTP Server", "tlp": "GREEN",
        "cvss_vector": VECTOR, "cve_ids": "CVE-2023-25690",
        "affected": HTTPD.format("*") + " >=2.4.0 <2.4.56",
        "references": "https://httpd.apache.org/security/vulnerabilities_24.html"})
    assert r.status_code == 200 and "9.8" in r.text and "Avancement national (1" in r.text
    advisory_id = db.scalar(select(Advisory.id))
    bad = client.post("/cyber/veille/avis/nouveau", data={
        "csrf_token": csrf_of(form.text), "title": "Avis", "affected": HTTPD.format("*") + " ~2"})
    assert bad.status_code == 422 and "borne « ~2 » illisible" in bad.text
    progress = client.get(f"/cyber/veille/avis/{advisory_id}/avancement")
    assert 'data-stacked="bar"' in progress.text and "Île-de-France" in progress.text
    client.post("/logout", data={"csrf_token": csrf_of(progress.text)})
    login(client, personas, "director_a")
    page = client.get(f"/cyber/veille/avis/{advisory_id}")
    assert "Où en êtes-vous" in page.text
    alert_id = db.scalar(select(Alert.id))
    r = client.post(f"/cyber/veille/alertes/{alert_id}", follow_redirects=True,
                    data={"csrf_token": csrf_of(page.text), "status": "not_affected"})
    assert "demande une justification" in r.text
    r = client.post(f"/cyber/veille/alertes/{alert_id}", follow_redirects=True, data={
        "csrf_token": csrf_of(page.text), "status": "not_affected",
        "note": "Module mod_proxy non chargé."})
    assert "Module mod_proxy non chargé." in r.text
    assert db.scalar(select(Alert.status)) == "not_affected"


def test_batch_matching_finds_what_publication_found(api, inventories, personas, db):
    from sqlalchemy import delete

    from esante.cyber.threatwatch import batch

    publish(api)
    publish(api, title="OpenSSL", affected=[{"cpe": HTTPD.format("2.4.41")}])
    found = {(a, e, json.dumps(m)) for a, e, m in db.execute(select(
        Alert.advisory_id, Alert.establishment_id, Alert.matched))}
    assert len(found) == 3
    db.execute(delete(AlertEvent))
    db.execute(delete(Alert))
    result = batch.match_all(db)
    assert result["advisories"] == 2 and result["alerts"] == 3
    again = {(a, e, json.dumps(m)) for a, e, m in db.execute(select(
        Alert.advisory_id, Alert.establishment_id, Alert.matched))}
    assert again == found
    assert batch.match_all(db)["alerts"] == 0  # nothing twice
