"""The director's governance page: maturity, open incidents and those of the last twelve
months, awareness coverage, the threat watch's open advisories, access, and the board's PDF."""

from __future__ import annotations

import io

from pypdf import PdfReader

from esante.cyber.governance.service import advisory_summary
from tests.core.test_policy_matrix import _sign_in
from tests.cyber.test_awareness import enrol, published, result
from tests.cyber.test_maturity import answers, submit
from tests.cyber.test_threatwatch import api, inventories, publish  # noqa: F401 - fixtures

URL = "/api/cyber/governance"


def test_governance_gathers_maturity_incidents_and_campaigns(client, personas, db, declare):
    fin = personas.est["A"].finess
    submit(client, personas, body={"answers": answers(M37="not_done")})
    incident = declare()
    c = published(client, personas)
    e = enrol(client, personas, c, staff=100)
    result(client, personas, e, c["modules"][0]["id"], participants=100)
    r = client.get(f"{URL}/{fin}", headers=personas.auth("director_a"))
    assert r.status_code == 200, r.text
    g = r.json()
    assert g["maturity"]["latest"]["scores"]["overall"] < 100
    assert g["maturity"]["recommendations"][0]["code"] == "M37"
    assert [i["id"] for i in g["incidents"]["open"]] == [incident["id"]]
    assert g["incidents"]["last_12_months"] == 1
    assert g["campaigns"][0]["enrolled"] and g["campaigns"][0]["coverage"] == 0.5
    assert g["advisories"] == {"total": 0, "by_status": dict.fromkeys(
        ("nouvelle", "prise en compte", "corrigée", "non concerné", "risque accepté"), 0),
        "unresolved": []}
    assert str(advisory_summary(db, fin)).startswith("aucun avis de sécurité ouvert")


def test_governance_shows_the_alerts_of_open_advisories(api, inventories, client, personas):  # noqa: F811
    """A's httpd is affected: the advisory is on A's page until patched; B's alert is B's."""
    fin = personas.est["A"].finess
    advisory = publish(api)
    g = client.get(f"{URL}/{fin}", headers=personas.auth("director_a")).json()["advisories"]
    assert g["total"] == 1 and g["by_status"]["nouvelle"] == 1
    assert [(a["reference"], a["cvss"], a["status_label"]) for a in g["unresolved"]] == [
        (advisory["reference"], 9.8, "nouvelle")]
    alert = api("rssi_a", "GET", f"/api/cyber/alerts?finess={fin}")["items"][0]
    api("rssi_a", "POST", f"/api/cyber/alerts/{alert['id']}/status",
        json={"status": "patched", "note": "Mis à jour en 2.4.58."})
    g = client.get(f"{URL}/{fin}", headers=personas.auth("director_a")).json()["advisories"]
    assert g["by_status"]["corrigée"] == 1 and g["unresolved"] == []


def test_governance_readers(client, personas):
    fin = personas.est["A"].finess
    for who, status in (("director_a", 200), ("rssi_a", 200), ("regional", 200),
                        ("analyst", 200), ("rssi_b", 403), ("doctor", 403), ("admin", 403)):
        assert client.get(f"{URL}/{fin}", headers=personas.auth(who)).status_code == status, who
    assert client.get(f"{URL}/123456789", headers=personas.auth("analyst")).status_code == 422


def test_page_and_board_pdf(client, personas, db, declare):
    submit(client, personas)
    declare(title="Compromission de la messagerie — hameçonnage ciblé")
    fin = personas.est["A"].finess
    _sign_in(client, db, personas.users["director_a"])
    page = client.get(f"/cyber/gouvernance/{fin}")
    assert page.status_code == 200
    assert "aucun avis de sécurité ouvert" in page.text and 'id="maturity-radar"' in page.text
    r = client.get(f"/cyber/gouvernance/{fin}/rapport.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(r.content))
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert "CHU de Paris-Test" in text
    assert "Compromission de la messagerie - hameçonnage ciblé" in text
    assert "aucun avis de sécurité ouvert" in text
    assert "100 / 100" in text
