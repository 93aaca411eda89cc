"""Pages of the maturity self-assessment (French, DSFR): the list of establishments the
viewer follows, an establishment's scores (radar), recommendations, peers' median and
history, the questionnaire, and one assessment's answers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from esante.core import policy
from esante.core.accounts.models import Role
from esante.core.errors import DomainError
from esante.core.orgs import service as orgs
from esante.core.orgs.models import Establishment
from esante.core.policy import Principal
from esante.cyber.maturity import service
from esante.cyber.maturity.catalogue import ANSWER_LABELS, LEVEL_LABELS, catalogue
from esante.web.deps import Csrf, PagePrincipal, SessionDep, WebSessionDep
from esante.web.render import render

router = APIRouter(include_in_schema=False)
BASE = "/cyber/maturite"
LABELS = {"answer_labels": ANSWER_LABELS, "level_labels": LEVEL_LABELS}


def radar_data(summary: service.Summary) -> dict[str, Any]:
    """Labels and series of the radar chart (the establishment, and the peers' median)."""
    cat = catalogue()
    latest = summary.latest.chapter_scores if summary.latest else {}
    median = summary.peers.median.chapters if summary.peers.median else None
    return {"labels": [c.title for c in cat.chapters],
            "scores": [latest.get(c.code) for c in cat.chapters],
            "median": [median.get(c.code) for c in cat.chapters] if median else None}


@router.get(BASE)
def index(request: Request, p: PagePrincipal, session: SessionDep, ws: WebSessionDep) -> Response:
    policy.authorize(p, "cyber.maturity.board")
    regions = sorted({g.scope_ref for g in p.grants_for(Role.REGIONAL_OFFICER)})
    if p.has_role(Role.CYBER_ANALYST):
        regions = [r.code for r in orgs.list_regions(session)]
    tables = {code: service.region_table(session, p, code) for code in regions}
    return render(request, "cyber/maturity/index.html", {
        "own": [(e, service.latest(session, e)) for e in service.establishments_of(session, p)],
        "tables": tables, "region_names": {r.code: r.name for r in orgs.list_regions(session)},
    }, principal=p, ws=ws)


@router.get(f"{BASE}/evaluations/{{assessment_id}}")
def assessment_page(assessment_id: int, request: Request, p: PagePrincipal, session: SessionDep,
                    ws: WebSessionDep) -> Response:
    a = service.get_assessment(session, p, assessment_id)
    est = session.get(Establishment, a.establishment_id)
    return render(request, "cyber/maturity/assessment.html", {
        "a": a, "est": est, "cat": catalogue(), "answers": service.answers_of(session, a),
        "evidence": service.evidence_of(session, a), **LABELS}, principal=p, ws=ws)


@router.get(f"{BASE}/{{finess}}")
def summary_page(finess: str, request: Request, p: PagePrincipal, session: SessionDep,
                 ws: WebSessionDep) -> Response:
    s = service.summary(session, p, finess[:12])
    return render(request, "cyber/maturity/summary.html", {
        "s": s, "cat": catalogue(), "radar": radar_data(s),
        "can_assess": policy.can(p, "cyber.maturity.assess", s.est),
        "can_answers": policy.can(p, "cyber.maturity.answers.read", s.est), **LABELS},
        principal=p, ws=ws)


def _questionnaire(request: Request, p: Principal, ws: WebSessionDep,
                   est: Establishment, *, values: dict[str, str], error: str = "",
                   status_code: int = 200) -> Response:
    return render(request, "cyber/maturity/questionnaire.html", {
        "est": est, "cat": catalogue(), "values": values, "error": error, **LABELS},
        principal=p, ws=ws, status_code=status_code)


@router.get(f"{BASE}/{{finess}}/questionnaire")
def questionnaire(finess: str, request: Request, p: PagePrincipal, session: SessionDep,
                  ws: WebSessionDep) -> Response:
    est = orgs.get_establishment(session, finess[:12])
    policy.authorize(p, "cyber.maturity.assess", est)
    values: dict[str, str] = {}
    last = service.latest(session, est)
    if last is not None:  # start from the previous answers: a new snapshot, not an edit
        values |= {f"answer_{c}": a for c, a in service.answers_of(session, last).items()}
        values |= {f"evidence_{c}": e for c, e in service.evidence_of(session, last).items()}
        if last.security_budget_share is not None:
            values["budget"] = f"{last.security_budget_share:g}"
    return _questionnaire(request, p, ws, est, values=values)


@router.post(f"{BASE}/{{finess}}/questionnaire", dependencies=[Csrf])
async def submit_questionnaire(finess: str, request: Request, p: PagePrincipal,
                               session: SessionDep, ws: WebSessionDep) -> Response:
    est = orgs.get_establishment(session, finess[:12])
    policy.authorize(p, "cyber.maturity.assess", est)
    form = await request.form()
    values = {k: str(v)[:4000] for k, v in form.items() if k != "csrf_token"}
    try:
        body = service.check_form(values)
        service.submit(session, p, est.finess, body)
    except DomainError as exc:
        session.rollback()
        return _questionnaire(request, p, ws, est, values=values, error=exc.fr,
                              status_code=422)
    return RedirectResponse(f"{BASE}/{est.finess}?ok=1", status_code=303)
