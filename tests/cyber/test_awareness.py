"""Awareness campaigns: the cell writes and publishes, establishments enrol and record counts,
participation per establishment, region and nation; a phishing simulation sent through a real
SMTP server (aiosmtpd, STARTTLS), its click tracking, reports, and the deletion of the
addresses when it closes."""

from __future__ import annotations

import re
from datetime import date, timedelta
from email import message_from_bytes
from email import policy as email_policy
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from esante.core.notifications import service as notifications
from esante.core.notifications.models import OutboundMail
from esante.core.policy import Principal
from esante.cyber.awareness import service, simulation
from esante.cyber.awareness.models import (
    AwarenessEnrolment,
    AwarenessResult,
    PhishingSimulation,
    SimulationRecipient,
)
from tests.core.test_notifications_mail import smtp  # noqa: F401 - the real SMTP fixture
from tests.core.test_policy_matrix import _sign_in
from tests.factories import Personas

URL = "/api/cyber/awareness"


def campaign_body(**overrides: Any) -> dict[str, Any]:
    today = date.today()
    body = {
        "title": "Tous cybervigilants 2026",
        "description": "Reconnaître l'hameçonnage et protéger ses accès.",
        "starts_on": today.isoformat(), "ends_on": (today + timedelta(days=90)).isoformat(),
        "modules": [
            {"title": "Reconnaître un courriel d'hameçonnage", "content": "Indices, réflexes.",
             "quiz": [{"question": "Un lien vers une page de connexion arrive par courriel : ",
                       "choices": ["je clique", "je vérifie l'adresse et je signale"],
                       "answer": 1}]},
            {"title": "Mots de passe et double authentification", "duration_minutes": 10},
        ],
    }
    body.update(overrides)
    return body


def published(client: TestClient, personas: Personas) -> dict[str, Any]:
    r = client.post(f"{URL}/campaigns", headers=personas.auth("analyst"), json=campaign_body())
    assert r.status_code == 201, r.text
    r = client.post(f"{URL}/campaigns/{r.json()['id']}/publish", headers=personas.auth("analyst"))
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def enrol(client: TestClient, personas: Personas, campaign: dict[str, Any], who: str = "rssi_a",
          est: str = "A", staff: int = 200) -> dict[str, Any]:
    r = client.post(f"{URL}/campaigns/{campaign['id']}/enrolments", headers=personas.auth(who),
                    json={"finess": personas.est[est].finess, "staff_count": staff})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def result(client: TestClient, personas: Personas, enrolment: dict[str, Any], module_id: int,
           who: str = "rssi_a", **counts: int) -> Any:
    return client.post(f"{URL}/enrolments/{enrolment['id']}/results", headers=personas.auth(who),
                       json={"module_id": module_id, **counts})


def test_drafts_are_the_cells_until_published(client, personas):
    r = client.post(f"{URL}/campaigns", headers=personas.auth("analyst"), json=campaign_body())
    draft = r.json()
    assert client.get(f"{URL}/campaigns/{draft['id']}", headers=personas.auth("rssi_a")).status_code == 404
    assert client.post(f"{URL}/campaigns", headers=personas.auth("rssi_a"),
                       json=campaign_body()).status_code == 403
    client.post(f"{URL}/campaigns/{draft['id']}/publish", headers=personas.auth("analyst"))
    got = client.get(f"{URL}/campaigns/{draft['id']}", headers=personas.auth("rssi_a"))
    assert got.status_code == 200 and len(got.json()["modules"]) == 2
    assert got.json()["modules"][0]["quiz"][0]["answer"] == 1


@pytest.mark.parametrize(("change", "words"), [
    ({"ends_on": "2020-01-01"}, "se termine avant de commencer"),
    ({"modules": [{"title": "Quiz faux", "quiz": [{"question": "Question ?", "choices": ["a", "b"],
                                                   "answer": 5}]}]}, "n'est pas un choix"),
    ({"modules": []}, ""),
])
def test_bad_campaigns_are_refused(client, personas, db, change, words):
    r = client.post(f"{URL}/campaigns", headers=personas.auth("analyst"),
                    json=campaign_body(**change))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert words in r.text


def test_participation_counts_per_establishment_region_and_nation(client, personas, db):
    c = published(client, personas)
    m1, m2 = (m["id"] for m in c["modules"])
    a = enrol(client, personas, c, staff=200)
    b = enrol(client, personas, c, who="rssi_b", est="B", staff=100)
    r = result(client, personas, a, m1, participants=120, quiz_taken=100, quiz_passed=80)
    assert r.status_code == 201
    assert result(client, personas, a, m1, who="director_a", participants=40).status_code == 201
    assert result(client, personas, a, m2, participants=100).status_code == 201
    assert result(client, personas, b, m1, who="rssi_b", participants=100, quiz_taken=50,
                  quiz_passed=50).status_code == 201
    one = client.get(f"{URL}/campaigns/{c['id']}/participation",
                     params={"finess": personas.est["A"].finess}, headers=personas.auth("rssi_a"))
    total = one.json()["total"]
    # module 1: 160/200, module 2: 100/200 → coverage (0.8 + 0.5) / 2
    assert total["coverage"] == 0.65 and total["quiz_passed"] == 80 and total["quiz_taken"] == 100
    region = client.get(f"{URL}/campaigns/{c['id']}/participation", params={"region": "11"},
                        headers=personas.auth("regional")).json()
    assert [r["key"] for r in region["rows"]] == [personas.est["A"].finess]
    nation = client.get(f"{URL}/campaigns/{c['id']}/participation",
                        headers=personas.auth("analyst")).json()
    assert {r["key"] for r in nation["rows"]} == {"11", "84"}
    assert nation["total"]["staff"] == 300
    # B: module 1 100/100, module 2 0/100 → 0.5; nation (0.65×200 + 0.5×100) / 300
    assert nation["total"]["coverage"] == round((0.65 * 200 + 0.5 * 100) / 300, 3)
    for who, params, status in (("regional", {}, 403), ("rssi_b", {"finess": personas.est["A"].finess}, 403),
                                ("regional", {"region": "84"}, 403), ("rssi_a", {}, 403)):
        r = client.get(f"{URL}/campaigns/{c['id']}/participation", params=params,
                       headers=personas.auth(who))
        assert r.status_code == status, (who, params)


def test_counts_beyond_the_targeted_staff_are_refused(client, personas, db):
    c = published(client, personas)
    a = enrol(client, personas, c, staff=50)
    m1 = c["modules"][0]["id"]
    assert result(client, personas, a, m1, participants=40).status_code == 201
    r = result(client, personas, a, m1, participants=11)
    assert r.status_code == 422 and "dépasserait" in r.json()["detail"]
    r = result(client, personas, a, m1, participants=5, quiz_taken=6)
    assert r.status_code == 422
    assert client.post(f"{URL}/campaigns/{c['id']}/enrolments", headers=personas.auth("rssi_a"),
                       json={"finess": personas.est["A"].finess, "staff_count": 10}).status_code == 409
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(AwarenessResult)) == 1


# --- phishing simulation ----------------------------------------------------------------------

STAFF = ["infirmiere.durand@chu-paris.test.esante.fr", "Secretariat.Cardio@chu-paris.test.esante.fr",
         "interne.leroy@chu-paris.test.esante.fr"]


def _principal(personas: Personas, who: str) -> Principal:
    return Principal.of(personas.users[who])


def _start(db: Session, personas: Personas, client: TestClient, settings: Any) -> PhishingSimulation:
    c = published(client, personas)
    e = enrol(client, personas, c)
    enrolment = db.get(AwarenessEnrolment, e["id"])
    return simulation.start(db, _principal(personas, "rssi_a"), enrolment,
                            recipients=[*STAFF, STAFF[0].upper(), ""],
                            subject="Votre boîte aux lettres est pleine", settings=settings)


def test_simulation_is_mailed_and_clicks_are_counted(client, personas, db, smtp):  # noqa: F811
    inbox, settings = smtp
    sim = _start(db, personas, client, settings)
    assert sim.recipients == 3  # the upper-case duplicate and the blank line dropped
    stored = db.scalars(select(SimulationRecipient.email)).all()
    assert stored and not any("@" in x for x in stored)  # addresses encrypted at rest

    assert notifications.deliver_pending(db, settings=settings) == 3
    assert sorted(r for _, rcpts, _ in inbox.messages for r in rcpts) == sorted(
        x.lower() for x in STAFF)
    bodies = [message_from_bytes(raw, policy=email_policy.default) for _, _, raw in inbox.messages]
    assert all(m["Subject"] == "Votre boîte aux lettres est pleine" for m in bodies)
    links = [re.search(r"https?://\S+/cyber/sensibilisation/test/(\S+)", m.get_content()).group(1)
             for m in bodies]
    assert len(set(links)) == 3  # one token per person

    landing = client.get(f"/cyber/sensibilisation/test/{links[0]}")
    assert landing.status_code == 200 and "Ceci était un exercice" in landing.text
    client.get(f"/cyber/sensibilisation/test/{links[0]}")  # a second click counts once
    client.get(f"/cyber/sensibilisation/test/{links[1]}")
    unknown = client.get("/cyber/sensibilisation/test/" + "x" * 32)
    assert unknown.status_code == 200  # the same page: a token's validity is not revealed
    db.expire_all()
    got = client.get(f"{URL}/simulations/{sim.id}", headers=personas.auth("rssi_a")).json()
    assert got["clicked"] == 2 and got["recipients"] == 3 and got["status"] == "running"
    assert client.get(f"{URL}/simulations/{sim.id}", headers=personas.auth("regional")).json()[
        "clicked"] == 2
    assert client.get(f"{URL}/simulations/{sim.id}",
                      headers=personas.auth("rssi_b")).status_code == 404

    # A member of staff reports the message: the security officer passes on the .eml.
    eml = inbox.messages[2][2].decode()
    r = client.post(f"{URL}/simulations/{sim.id}/reports", headers=personas.auth("rssi_a"),
                    json={"eml": eml})
    assert r.status_code == 200, r.text
    assert r.json()["reported"] == 1
    bad = client.post(f"{URL}/simulations/{sim.id}/reports", headers=personas.auth("rssi_a"),
                      json={"eml": "Subject: bonjour\n\nrien a voir"})
    assert bad.status_code == 422 and "aucun lien de test" in bad.json()["detail"]

    # Closing deletes the addresses and the mails, and keeps the counts.
    r = client.post(f"{URL}/simulations/{sim.id}/close", headers=personas.auth("rssi_a"))
    assert r.status_code == 200
    assert r.json() | {"closed_at": None} == got | {"status": "closed", "reported": 1,
                                                    "closed_at": None}
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(SimulationRecipient)) == 0
    assert db.scalar(select(func.count()).select_from(OutboundMail)) == 0
    client.get(f"/cyber/sensibilisation/test/{links[2]}")  # after closing: nothing counted
    db.expire_all()
    assert db.get(PhishingSimulation, sim.id).clicked == 2


def test_only_the_security_officer_runs_a_simulation(client, personas, db, smtp):  # noqa: F811
    _, settings = smtp
    c = published(client, personas)
    e = enrol(client, personas, c)
    enrolment = db.get(AwarenessEnrolment, e["id"])
    from esante.core.errors import Forbidden

    for who in ("director_a", "rssi_b", "regional", "analyst"):
        with pytest.raises(Forbidden):
            simulation.start(db, _principal(personas, who), enrolment, recipients=STAFF,
                             subject="Test", settings=settings)
    assert db.scalar(select(func.count()).select_from(PhishingSimulation)) == 0


@pytest.mark.parametrize(("recipients", "words"), [
    (["pas-une-adresse"], "adresse n° 1 invalide"),
    (["", "  "], "aucune adresse"),
])
def test_bad_staff_lists_are_refused(client, personas, db, recipients, words):
    c = published(client, personas)
    e = enrol(client, personas, c)
    r = client.post(f"{URL}/enrolments/{e['id']}/simulations", headers=personas.auth("rssi_a"),
                    json={"recipients": recipients})
    assert r.status_code == 422 and words in r.json()["detail"]
    assert db.scalar(select(func.count()).select_from(PhishingSimulation)) == 0


def test_without_a_mail_relay_the_simulation_is_refused(client, personas, db):
    c = published(client, personas)
    e = enrol(client, personas, c)
    r = client.post(f"{URL}/enrolments/{e['id']}/simulations", headers=personas.auth("rssi_a"),
                    json={"recipients": STAFF})
    assert r.status_code == 422 and "relais" in r.json()["detail"]
    assert db.scalar(select(func.count()).select_from(OutboundMail)) == 0


def test_pages_enrol_and_record_a_session(client, personas, db):
    c = published(client, personas)
    csrf = _sign_in(client, db, personas.users["director_a"])
    page = client.get(f"/cyber/sensibilisation/{c['id']}")
    assert page.status_code == 200 and "Inscrire l'établissement" in page.text
    action = f"/cyber/sensibilisation/{c['id']}/action"
    r = client.post(action, data={"csrf_token": csrf, "action": "enrol", "staff_count": "80",
                                  "finess": personas.est["A"].finess}, follow_redirects=False)
    assert r.status_code == 303 and "erreur" not in r.headers["location"]
    enrolment = db.scalar(select(AwarenessEnrolment))
    r = client.post(action, data={"csrf_token": csrf, "action": "result",
                                  "enrolment_id": str(enrolment.id),
                                  "module_id": str(c["modules"][0]["id"]), "participants": "90"},
                    follow_redirects=False)
    assert "erreur=" in r.headers["location"]  # 90 > 80 targeted
    assert db.scalar(select(func.count()).select_from(AwarenessResult)) == 0
    r = client.post(action, data={"csrf_token": csrf, "action": "result",
                                  "enrolment_id": str(enrolment.id),
                                  "module_id": str(c["modules"][0]["id"]), "participants": "40",
                                  "quiz_taken": "30", "quiz_passed": "25"}, follow_redirects=False)
    assert "erreur" not in r.headers["location"]
    dash = client.get(f"/cyber/sensibilisation/{c['id']}/participation")
    assert dash.status_code == 200 and "25 / 30" in dash.text
    assert service.participation(db, _principal(personas, "analyst"), service.get_campaign(
        db, _principal(personas, "analyst"), c["id"])).total.participants == 40


def test_the_cell_writes_and_publishes_a_campaign_on_the_pages(client, personas, db):
    csrf = _sign_in(client, db, personas.users["analyst"])
    form = {"csrf_token": csrf, "title": "Campagne d'automne", "starts_on": "2026-10-01",
            "ends_on": "2026-12-31", "module1_title": "Hameçonnage",
            "module1_quiz": "Un lien inattendu ? | je clique | *je signale\n\n"
                            "Le RSSI demande-t-il votre mot de passe ? | oui | *jamais",
            "module2_title": "Mots de passe"}
    bad = client.post("/cyber/sensibilisation/nouvelle",
                      data=form | {"module1_quiz": "Question sans bonne réponse | a | b"})
    assert bad.status_code == 422 and "ligne 1 du quiz" in bad.text
    r = client.post("/cyber/sensibilisation/nouvelle", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    campaign_id = int(r.headers["location"].split("/")[-1].split("?")[0])
    got = service.get_campaign(db, _principal(personas, "analyst"), campaign_id)
    assert got.status == "draft"
    quiz = service.modules_of(db, got)[0].quiz
    assert quiz[1] == {"question": "Le RSSI demande-t-il votre mot de passe ?",
                       "choices": ["oui", "jamais"], "answer": 1}
    r = client.post(f"/cyber/sensibilisation/{campaign_id}/action",
                    data={"csrf_token": csrf, "action": "publish"}, follow_redirects=False)
    assert "erreur" not in r.headers["location"]
    db.expire_all()
    assert service.get_campaign(db, _principal(personas, "rssi_b"), campaign_id).status == "published"


def test_staff_phishing_reports_feed_the_participation(client, personas, db):
    """Suspicious messages the staff report (the phishing-report service) after the
    campaign's publication are counted per establishment, region and nation."""
    from tests.cyber.test_phishing import report

    c = published(client, personas)
    enrol(client, personas, c, staff=200)
    enrol(client, personas, c, who="rssi_b", est="B", staff=100)
    report(client, personas, "phishing_invoice.eml")  # a doctor of A
    report(client, personas, "phishing_invoice.eml", who="rssi_a")
    report(client, personas, "phishing_invoice.eml", who="other_doctor", est="B")
    url = f"{URL}/campaigns/{c['id']}/participation"
    one = client.get(url, params={"finess": personas.est["A"].finess},
                     headers=personas.auth("rssi_a")).json()
    assert one["total"]["phishing_reports"] == 2
    nation = client.get(url, headers=personas.auth("analyst")).json()
    assert {r["key"]: r["phishing_reports"] for r in nation["rows"]} == {"11": 2, "84": 1}
    assert nation["total"]["phishing_reports"] == 3
