"""The French pages through a real login: report a message and read the verdict; upload
forms refused to those who may not use them (nothing written); share and import
indicators from the pages; exports downloaded from the pages."""

from __future__ import annotations

import re

import pytest
import stix2
from sqlalchemy import func, select

from esante.core.audit import AuditEvent
from esante.cyber.indicators.models import IocEvent
from esante.cyber.phishing.models import PhishingReport
from tests.core.test_auth import csrf_of, login
from tests.cyber.test_phishing import eml

MISP = (b'{"Event": {"info": "Campagne partagee par un CERT regional", "Tag": [{"name": '
        b'"tlp:amber"}], "Attribute": [{"type": "url", "value": "http://cert-import.example.net/x"}]}}')


def count(db, model) -> int:  # type: ignore[no-untyped-def]
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model)) or 0


def test_reporting_from_the_page(client, personas, db) -> None:
    login(client, personas, "doctor")
    page = client.get("/cyber/hameconnage")
    assert page.status_code == 200 and "Signaler un message suspect" in page.text
    r = client.post("/cyber/hameconnage", data={"csrf_token": csrf_of(page.text),
                                                 "finess": personas.est["A"].finess},
                    files={"file": ("fraude.eml", eml("ceo_fraud.eml"), "message/rfc822")},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    shown = client.get(r.headers["location"])
    assert "Verdict : Suspect" in shown.text
    assert "le nom affiché imite une autre adresse" in shown.text.replace("&#39;", "'")
    assert "SPF : softfail" in shown.text
    assert 'id="publish-form"' not in shown.text  # the reporter does not publish
    bad = client.post("/cyber/hameconnage", data={"csrf_token": csrf_of(page.text),
                                                   "finess": personas.est["A"].finess},
                      files={"file": ("x.eml", eml("not_a_message.eml"), "message/rfc822")})
    assert bad.status_code == 422
    assert "pas un message électronique" in bad.text
    assert count(db, PhishingReport) == 1


@pytest.mark.parametrize("who", ["other_doctor", "regional", "citizen", "outsider"])
def test_upload_policy(client, personas, db, who) -> None:
    """POST /cyber/hameconnage for an establishment one does not work at: the page again
    with a French refusal, nothing written (allowed personas: test_reporting_from_the_page)."""
    login(client, personas, who)
    page = client.get("/account")
    before = count(db, AuditEvent)
    r = client.post("/cyber/hameconnage", data={"csrf_token": csrf_of(page.text),
                                                 "finess": personas.est["A"].finess},
                    files={"file": ("m.eml", eml("ceo_fraud.eml"), "message/rfc822")})
    assert r.status_code == (422 if who == "other_doctor" else 403), r.text
    assert "accès refusé" in r.text
    assert count(db, PhishingReport) == 0 and count(db, AuditEvent) == before
    client.cookies.clear()
    r = client.post("/cyber/hameconnage", data={"finess": personas.est["A"].finess},
                    files={"file": ("m.eml", eml("ceo_fraud.eml"), "message/rfc822")},
                    follow_redirects=False)
    assert r.status_code in (303, 403) and count(db, PhishingReport) == 0


def test_officer_publishes_from_the_page(client, personas, db) -> None:
    login(client, personas, "rssi_a")
    page = client.get("/cyber/hameconnage")
    r = client.post("/cyber/hameconnage", data={"csrf_token": csrf_of(page.text),
                                                 "finess": personas.est["A"].finess},
                    files={"file": ("f.eml", eml("phishing_invoice.eml"), "message/rfc822")},
                    follow_redirects=False)
    report_page = client.get(r.headers["location"])
    assert 'id="publish-form"' in report_page.text
    action = re.search(r'action="(/cyber/hameconnage/\d+/action)"', report_page.text).group(1)
    done = client.post(action, data={
        "csrf_token": csrf_of(report_page.text), "action": "publish",
        "title": "Fausse facture", "tlp": "amber", "pap": "amber", "scope": "region",
        "values": ["http://chu-paris-factures.com/login.php?id=2026-1187",
                   "mailer-relay.ru"]}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].startswith("/cyber/indicateurs/")
    event_page = client.get(done.headers["location"])
    assert "Fausse facture" in event_page.text and "mailer-relay.ru" in event_page.text
    assert "TLP:AMBER" in event_page.text


@pytest.mark.parametrize(("who", "status"), [("rssi_a", 303), ("analyst", 422),
                                             ("director_a", 403), ("doctor", 403)])
def test_import_page_policy(client, personas, db, who, status) -> None:
    """POST /cyber/indicateurs/import: A's security officer imports for A; the cell cannot
    import as A (the form again); others are refused; a refusal writes nothing."""
    login(client, personas, who)
    csrf = csrf_of(client.get("/account").text)
    before = count(db, AuditEvent)
    r = client.post("/cyber/indicateurs/import", data={
        "csrf_token": csrf, "format": "misp", "source_finess": personas.est["A"].finess,
        "tlp": "green", "scope": "region"},
        files={"file": ("e.json", MISP, "application/json")}, follow_redirects=False)
    assert r.status_code == status, r.text
    if status == 303:
        ev = client.get(r.headers["location"])
        assert "Campagne partagee par un CERT regional" in ev.text and "TLP:AMBER" in ev.text
        assert count(db, IocEvent) == 1
    else:
        assert count(db, IocEvent) == 0 and count(db, AuditEvent) == before


def test_sharing_form_and_exports(client, personas, db) -> None:
    login(client, personas, "rssi_a")
    form = client.get("/cyber/indicateurs/nouveau")
    assert "Partager un événement" in form.text
    data = {"csrf_token": csrf_of(form.text), "source_finess": personas.est["A"].finess,
            "title": "Serveur de commande", "tlp": "amber+strict", "scope": "national",
            "pap": "red", "indicators": "c2.example-bad.org balise\n"}
    wrong = client.post("/cyber/indicateurs/nouveau", data=data)
    assert wrong.status_code == 422 and "AMBER+STRICT" in wrong.text
    assert "c2.example-bad.org balise" in wrong.text  # what was typed is kept
    ok = client.post("/cyber/indicateurs/nouveau", data=data | {"scope": "establishment"},
                     follow_redirects=False)
    assert ok.status_code == 303
    board = client.get("/cyber/indicateurs?valeur=c2.example-bad.org")
    assert "Serveur de commande" in board.text and 'id="hits"' in board.text
    stix = client.get("/cyber/indicateurs/export?format=stix")
    assert stix.headers["content-disposition"].startswith("attachment")
    assert len(stix2.parse(stix.text).objects) >= 3
    login(client, personas, "rssi_b")
    assert "Serveur de commande" not in client.get("/cyber/indicateurs").text
    assert "c2.example-bad.org" not in client.get("/cyber/indicateurs/export?format=csv").text
