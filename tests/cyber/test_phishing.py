"""Phishing reports on real-format .eml samples: headers, authentication results, Received
chain, address mismatches, observables and attachment hashes; verdicts against the shared
indicators the reporter's establishment may see; the answer; publication; bad files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import func, select

from esante.core.audit import AuditEvent
from esante.core.crypto import BlobStore, Vault
from esante.core.notifications.models import Notification
from esante.cyber.phishing import service
from esante.cyber.phishing.models import PhishingReport
from esante.cyber.phishing.parse import MAX_EML_BYTES, analyse
from tests.cyber.test_indicators import share

DATA = Path(__file__).parent / "data"
API = "/api/cyber/phishing"


def eml(name: str) -> bytes:
    return (DATA / name).read_bytes()


def report(client, personas, name: str, who: str = "doctor", est: str = "A",
           ok: int = 201) -> dict:
    r = client.post(API, headers=personas.auth(who), params={"finess": personas.est[est].finess},
                    files={"file": (name, eml(name), "message/rfc822")})
    assert r.status_code == ok, r.text
    return r.json()  # type: ignore[no-any-return]


def test_parsing_a_phishing_message() -> None:
    a = analyse(eml("phishing_invoice.eml"))
    assert a.subject == "Facture impayée n°2026-1187 – action requise"
    assert a.sender == "compta@chu-paris-factures.com"
    assert a.auth == {"spf": "fail", "dkim": "none", "dmarc": "fail"}
    assert [h["ip"] for h in a.received] == ["10.20.0.5", "185.234.72.19", "45.142.120.7"]
    assert a.received[1]["from"] == "smtp.mailer-relay.ru"
    assert a.urls == ["http://chu-paris-factures.com/login.php?id=2026-1187"]
    assert {"chu-paris-factures.com", "gmail-secure-pay.com", "mailer-relay.ru"} <= set(a.domains)
    assert "chu-paris.fr" not in a.domains  # the recipients' own domain is not an observable
    (att,) = a.attachments
    assert att.filename == "facture-2026-1187.html"
    assert att.sha256 == hashlib.sha256(
        b"<html><body><form action='http://chu-paris-factures.com/collect.php'>Identifiant "
        b"<input name=u></form></body></html>\n").hexdigest()
    assert any("réponse (gmail-secure-pay.com)" in s for s in a.signs)
    assert any("retour (mailer-relay.ru)" in s for s in a.signs)
    assert any("DMARC" in s for s in a.signs) and any("pièce jointe" in s for s in a.signs)


def test_display_name_spoofing_and_a_clean_newsletter() -> None:
    ceo = analyse(eml("ceo_fraud.eml"))
    assert any("nom affiché imite" in s and "direction.generale@chu-paris.fr" in s
               for s in ceo.signs)
    news = analyse(eml("newsletter_legit.eml"))
    assert news.auth == {"spf": "pass", "dkim": "pass", "dmarc": "pass"}
    assert news.signs == []


def test_known_indicators_make_it_malicious_and_the_reporter_is_answered(
        client, personas, db) -> None:
    share(client, personas, title="Faux service comptable", tlp="amber", scope="region",
          indicators=[{"value": "chu-paris-factures.com"}])
    out = report(client, personas, "phishing_invoice.eml")
    assert out["verdict"] == "malicious" and out["matched"] >= 1
    assert any("chu-paris-factures.com est un indicateur partagé" in r for r in out["reasons"])
    assert out["analysis"]["auth"]["dmarc"] == "fail"
    note = db.scalar(select(Notification).where(
        Notification.user_id == personas.users["doctor"].id))
    assert note is not None and "malveillant" in note.title
    assert note.link == f"/cyber/hameconnage/{out['id']}"
    officer = db.scalar(select(Notification).where(
        Notification.user_id == personas.users["rssi_a"].id))
    assert officer is not None and "Hameçonnage signalé" in officer.title
    # The message and its analysis are encrypted at rest; the subject is nowhere in clear.
    row = db.get(PhishingReport, out["id"])
    assert "Facture" not in row.analysis_enc and "chu-paris-factures" not in row.analysis_enc
    assert BlobStore(Vault(db)).get(row.blob_id) == eml("phishing_invoice.eml")


def test_tlp_limits_what_matches(client, personas) -> None:
    # AMBER+STRICT of B: A's report does not see it.
    share(client, personas, "rssi_b", est="B", title="Interne à Lyon", tlp="amber+strict",
          scope="establishment", indicators=[{"value": "mailer-relay.ru"}])
    out = report(client, personas, "phishing_invoice.eml")
    assert out["matched"] == 0 and out["verdict"] == "suspicious"
    assert report(client, personas, "phishing_invoice.eml", who="other_doctor",
                  est="B")["verdict"] == "malicious"


def test_verdicts_without_known_indicators(client, personas) -> None:
    assert report(client, personas, "ceo_fraud.eml", who="clerk_a")["verdict"] == "suspicious"
    clean = report(client, personas, "newsletter_legit.eml")
    assert clean["verdict"] == "clean"
    assert clean["reasons"] == ["aucun indicateur connu ni signe d'usurpation dans les en-têtes"]


def test_who_reads_a_report(client, personas, db) -> None:
    out = report(client, personas, "ceo_fraud.eml")
    url = f"{API}/{out['id']}"
    for who in ("doctor", "rssi_a", "director_a", "analyst"):
        assert client.get(url, headers=personas.auth(who)).status_code == 200, who
    for who in ("clerk_a", "rssi_b", "regional", "other_doctor", "citizen", "admin"):
        assert client.get(url, headers=personas.auth(who)).status_code in (403, 404), who
    reads = db.scalars(select(AuditEvent).where(AuditEvent.action == "cyber.phishing.read")).all()
    assert {r.subject_user_id for r in reads} == {personas.users["doctor"].id}
    listed = client.get(API, headers=personas.auth("clerk_a")).json()
    assert listed["total"] == 0
    assert client.get(API, headers=personas.auth("rssi_a")).json()["total"] == 1


def test_the_security_officer_publishes_from_a_report(client, personas, db) -> None:
    out = report(client, personas, "phishing_invoice.eml")
    body = {"title": "Hameçonnage « facture impayée »", "tlp": "green", "scope": "national",
            "values": ["http://chu-paris-factures.com/login.php?id=2026-1187",
                       "gmail-secure-pay.com", "45.142.120.7"]}
    assert client.post(f"{API}/{out['id']}/publish", headers=personas.auth("doctor"),
                       json=body).status_code == 403
    r = client.post(f"{API}/{out['id']}/publish", headers=personas.auth("rssi_a"), json=body)
    assert r.status_code == 201, r.text
    assert r.json()["indicator_count"] == 3 and r.json()["source"] == "CHU de Paris-Test"
    assert db.get(PhishingReport, out["id"]).status == "published"
    # B now sees it, and B's next identical report is malicious.
    assert report(client, personas, "phishing_invoice.eml", who="other_doctor",
                  est="B")["verdict"] == "malicious"
    bad = client.post(f"{API}/{out['id']}/publish", headers=personas.auth("rssi_a"),
                      json={**body, "values": ["not-in-the-report.example"]})
    assert bad.status_code == 422 and "ne figure pas" in bad.json()["detail"]


@pytest.mark.parametrize(("content", "message"), [
    (None, "n'est pas un message électronique"),
    (b"", "le fichier est vide"),
    (b"Bonjour,\nceci est une note, pas un courriel.\n", "n'est pas un message électronique"),
    (b"Subject: sans expediteur\n\ncorps\n", "en-têtes From et Date"),
])
def test_not_a_message_saves_nothing(client, personas, db, content, message) -> None:
    data = eml("not_a_message.eml") if content is None else content
    before = db.scalar(select(func.count()).select_from(AuditEvent))
    r = client.post(API, headers=personas.auth("doctor"),
                    params={"finess": personas.est["A"].finess},
                    files={"file": ("x.eml", data, "message/rfc822")})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert message in r.json()["detail"]
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(PhishingReport)) == 0
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == before


def test_huge_message_is_refused(client, personas, db) -> None:
    big = eml("newsletter_legit.eml") + b"x" * (MAX_EML_BYTES + 10)
    r = client.post(API, headers=personas.auth("doctor"), params={"finess": personas.est["A"].finess},
                    files={"file": ("big.eml", big, "message/rfc822")})
    assert r.status_code in (413, 422)
    assert "volumineux" in r.json()["detail"] or "trop" in r.json()["detail"]
    assert db.scalar(select(func.count()).select_from(PhishingReport)) == 0


def test_only_staff_of_the_establishment_report(client, personas) -> None:
    report(client, personas, "ceo_fraud.eml", who="other_doctor", est="A", ok=403)
    report(client, personas, "ceo_fraud.eml", who="citizen", ok=403)
    report(client, personas, "ceo_fraud.eml", who="regional", ok=403)


def test_report_counts(client, personas, db) -> None:
    report(client, personas, "ceo_fraud.eml")
    report(client, personas, "newsletter_legit.eml", who="rssi_a")
    report(client, personas, "ceo_fraud.eml", who="other_doctor", est="B")
    a, b = personas.est["A"].finess, personas.est["B"].finess
    counts = service.report_counts(db)
    assert counts[a] == {"total": 2, "malicious": 0, "suspicious": 1, "clean": 1}
    assert counts[b]["total"] == 1
    assert service.report_counts(db, region="11") == {a: counts[a]}
    assert client.get(f"{API}/counts", headers=personas.auth("rssi_b")).json() == {b: counts[b]}
    assert set(client.get(f"{API}/counts", headers=personas.auth("analyst")).json()) == {a, b}
    assert client.get(f"{API}/counts", headers=personas.auth("doctor")).status_code == 403
