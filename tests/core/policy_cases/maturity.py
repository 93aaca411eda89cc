"""The access matrix's lines for the maturity self-assessment (/api/cyber/maturity,
/cyber/maturite), awareness campaigns (/api/cyber/awareness, /cyber/sensibilisation) and the
governance page (/api/cyber/governance, /cyber/gouvernance).

Maturity: A's security officer and director answer and read everything; the agency of
region 11 reads A's scores (not its answers); the cell reads all. Awareness: the cell writes
and publishes campaigns; the security staff, agencies and cell read published ones; A's
staff enrol A and record counts; only A's security officer runs (and closes) a simulation;
participation is read by A, its region and the cell. Governance: A, its region, the cell."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from esante.core.settings import get_settings
from esante.cyber.awareness import service as awareness
from esante.cyber.awareness import simulation
from esante.cyber.awareness.models import (
    AwarenessCampaign,
    AwarenessEnrolment,
    AwarenessResult,
    PhishingSimulation,
    SimulationRecipient,
)
from esante.cyber.awareness.schemas import CampaignIn
from esante.cyber.maturity import service as maturity
from esante.cyber.maturity.catalogue import catalogue
from esante.cyber.maturity.models import MaturityAnswer, MaturityAssessment
from tests.core.policy_base import EVERYONE, REFUSED_ON_PAGE, Case, _c, _p

EST_A_STAFF = frozenset({"rssi_a", "director_a"})
A_READERS = EST_A_STAFF | {"regional", "analyst"}  # A, its region (11), the cell
ANSWER_READERS = EST_A_STAFF | {"analyst"}
BOARD = frozenset({"rssi_a", "rssi_b", "director_a", "regional", "analyst"})
CELL = frozenset({"analyst"})
RSSI_A = frozenset({"rssi_a"})
# Readers of A's enrolment or simulation who may not act on it: 403; others do not see it: 404.
READ_NOT_WRITE = {"regional": 403, "analyst": 403}
READ_NOT_SIMULATE = {"director_a": 403, **READ_NOT_WRITE}
MATRIX_TOKEN = "matrix-simulation-token-0001"

ALL_DONE = {i.code: {"answer": "done"} for i in catalogue().items}
ALL_DONE_FORM = {f"answer_{i.code}": "done" for i in catalogue().items}
CAMPAIGN = {"title": "Tous cybervigilants — matrice", "starts_on": date.today().isoformat(),
            "ends_on": (date.today() + timedelta(days=30)).isoformat(),
            "modules": [{"title": "Hameçonnage", "quiz": [
                {"question": "Que faire ?", "choices": ["cliquer", "signaler"], "answer": 1}]}]}

M = "/api/cyber/maturity"
AW = "/api/cyber/awareness"
CAMP = AW + "/campaigns/{campaign_id}"
ENR = AW + "/enrolments/{enrolment_id}"
SIM = AW + "/simulations/{simulation_id}"

API_CASES: list[Case] = [
    _c("GET", M + "/measures", EVERYONE),
    _c("GET", M + "/region/{region_code}", frozenset({"regional", "analyst"}),
       label=M + "/region/11"),
    _c("GET", M + "/region/{region_code}", CELL, label=M + "/region/84"),
    _c("GET", M + "/assessments/{assessment_id}", ANSWER_READERS, denied=404,
       label=M + "/assessments/{maturity_a}"),
    _c("GET", M + "/{finess}", A_READERS, label=M + "/{A}"),
    _c("POST", M + "/{finess}/assessments", EST_A_STAFF, label=M + "/{A}/assessments",
       ok=(201,), body={"answers": ALL_DONE}),
    _c("GET", AW + "/campaigns", BOARD),
    _c("POST", AW + "/campaigns", CELL, ok=(201,), body=CAMPAIGN),
    _c("GET", CAMP, BOARD, denied=404, label=AW + "/campaigns/{campaign}"),
    _c("GET", CAMP, CELL, denied=404, label=AW + "/campaigns/{campaign_draft}"),
    _c("POST", CAMP + "/publish", CELL, denied=404, label=AW + "/campaigns/{campaign_draft}/publish"),
    _c("POST", CAMP + "/enrolments", EST_A_STAFF, denied=404, ok=(201,),
       denied_for={"rssi_b": 403, "regional": 403, "analyst": 403},
       label=AW + "/campaigns/{campaign}/enrolments", body={"finess": "{A}", "staff_count": 80}),
    _c("GET", CAMP + "/participation", A_READERS, denied=404, denied_for={"rssi_b": 403},
       label=AW + "/campaigns/{campaign}/participation?finess={A}"),
    _c("GET", CAMP + "/participation", CELL, denied=404,
       denied_for=dict.fromkeys(BOARD - CELL, 403),
       label=AW + "/campaigns/{campaign}/participation (nation)"),
    _c("POST", ENR + "/results", EST_A_STAFF, denied=404, denied_for=READ_NOT_WRITE, ok=(201,),
       label=AW + "/enrolments/{enrolment_a}/results",
       body={"module_id": "{module}", "participants": 10}),
    # Allowed through the policy, then refused: the tests run without an outbound mail
    # relay (the sending itself is tested over real SMTP in tests/cyber/test_awareness.py).
    _c("POST", ENR + "/simulations", RSSI_A, denied=404, denied_for=READ_NOT_SIMULATE,
       ok=(422,), label=AW + "/enrolments/{enrolment_a}/simulations",
       body={"recipients": ["agent@chu-paris.test.esante.fr"]}),
    _c("GET", SIM, A_READERS, denied=404, label=AW + "/simulations/{simulation_a}"),
    _c("POST", SIM + "/reports", RSSI_A, denied=404, denied_for=READ_NOT_SIMULATE,
       label=AW + "/simulations/{simulation_a}/reports",
       body={"eml": "Subject: Votre boite est pleine\n\nhttps://esante.test"
                    "/cyber/sensibilisation/test/" + MATRIX_TOKEN + "\n"}),
    _c("POST", SIM + "/close", RSSI_A, denied=404, denied_for=READ_NOT_SIMULATE,
       label=AW + "/simulations/{simulation_a}/close"),
    _c("GET", "/api/cyber/governance/{finess}", A_READERS, label="/api/cyber/governance/{A}"),
]

ROLE_PAGES: list[Case] = [
    _p("GET", "/cyber/maturite", BOARD),
    _p("GET", "/cyber/maturite/evaluations/{assessment_id}", ANSWER_READERS, denied=404,
       label="/cyber/maturite/evaluations/{maturity_a}"),
    _p("GET", "/cyber/maturite/{finess}", A_READERS, label="/cyber/maturite/{A}"),
    _p("GET", "/cyber/maturite/{finess}/questionnaire", EST_A_STAFF,
       label="/cyber/maturite/{A}/questionnaire"),
    _p("POST", "/cyber/maturite/{finess}/questionnaire", EST_A_STAFF,
       label="/cyber/maturite/{A}/questionnaire", body=ALL_DONE_FORM,
       extra={"to": "/cyber/maturite/{A}"}),
    _p("GET", "/cyber/sensibilisation", BOARD),
    _p("GET", "/cyber/sensibilisation/nouvelle", CELL),
    _p("POST", "/cyber/sensibilisation/nouvelle", CELL, extra={"to": "/cyber/sensibilisation/"},
       body={"title": "Campagne de la matrice", "starts_on": date.today().isoformat(),
             "ends_on": (date.today() + timedelta(days=10)).isoformat(),
             "module1_title": "Hameçonnage", "module1_quiz": "Que faire ? | cliquer | *signaler"}),
    _p("POST", "/cyber/sensibilisation/{campaign_id}/action", CELL, denied=404,
       label="/cyber/sensibilisation/{campaign_draft}/action", body={"action": "publish"},
       extra={"to": "/cyber/sensibilisation/{campaign_draft}", "rewrites": True}),
    _p("GET", "/cyber/sensibilisation/{campaign_id}", BOARD, denied=404,
       label="/cyber/sensibilisation/{campaign}"),
    _p("POST", "/cyber/sensibilisation/{campaign_id}/action", EST_A_STAFF, denied=404,
       denied_for=dict.fromkeys(BOARD - EST_A_STAFF, REFUSED_ON_PAGE),
       label="/cyber/sensibilisation/{campaign}/action",
       body={"action": "enrol", "finess": "{A}", "staff_count": "50"},
       extra={"to": "/cyber/sensibilisation/{campaign}"}),
    _p("GET", "/cyber/sensibilisation/{campaign_id}/participation", BOARD, denied=404,
       label="/cyber/sensibilisation/{campaign}/participation"),
    _p("GET", "/cyber/gouvernance/{finess}", A_READERS, label="/cyber/gouvernance/{A}"),
    _p("GET", "/cyber/gouvernance/{finess}/rapport.pdf", A_READERS,
       label="/cyber/gouvernance/{A}/rapport.pdf"),
]

OTHER_ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/cyber/sensibilisation/test/{token}"):
        "public: a simulation's landing page, tests/cyber/test_awareness.py",
}

COUNTED = (MaturityAssessment, MaturityAnswer, AwarenessCampaign, AwarenessEnrolment,
           AwarenessResult, PhishingSimulation, SimulationRecipient)


def placeholders(targets: Any, name: str) -> dict[str, Callable[[], object]]:
    db, personas = targets.db, targets.personas
    cell = targets.principal("analyst")

    def assessment() -> int:
        return maturity.record(db, personas.est["A"], dict.fromkeys(ALL_DONE, "partial"), {},
                               budget_share=None, by=None).id

    def campaign(publish: bool) -> AwarenessCampaign:
        c = awareness.create_campaign(db, cell, CampaignIn.model_validate(CAMPAIGN))
        return awareness.publish(db, cell, c) if publish else c

    def published() -> AwarenessCampaign:
        return targets.once("campaign", lambda: campaign(True))  # type: ignore[no-any-return]

    def enrolment() -> AwarenessEnrolment:
        return targets.once("enrolment", lambda: awareness.enrol(  # type: ignore[no-any-return]
            db, targets.principal("rssi_a"), published(), finess=personas.est["A"].finess,
            staff_count=100))

    def running_simulation() -> int:
        settings = get_settings().model_copy(update={"smtp_host": "localhost"})
        sim = simulation.start(db, targets.principal("rssi_a"), enrolment(),
                               recipients=["agent@chu-paris.test.esante.fr"],
                               subject="Votre boîte est pleine", settings=settings)
        db.add(SimulationRecipient(simulation_id=sim.id, email="",
                                   token_hash=simulation.token_hash(MATRIX_TOKEN)))
        db.flush()
        return sim.id

    return {
        "{maturity_a}": lambda: targets.once("maturity_a", assessment),
        "{campaign}": lambda: published().id,
        "{campaign_draft}": lambda: targets.once("campaign_draft", lambda: campaign(False)).id,
        "{enrolment_a}": lambda: enrolment().id,
        "{module}": lambda: awareness.modules_of(db, published())[0].id,
        "{simulation_a}": lambda: targets.once("simulation_a", running_simulation),
    }
