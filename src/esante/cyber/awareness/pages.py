"""Pages of awareness campaigns (French, DSFR): the campaigns, a campaign with its modules,
quizzes and the establishment's enrolment, participation dashboards (establishment, region,
nation), and the landing page of a phishing simulation's test link (no login)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from esante.core import policy
from esante.core.accounts.models import Role
from esante.core.errors import DomainError, Invalid
from esante.core.orgs import service as orgs
from esante.core.policy import Principal
from esante.cyber.awareness import service, simulation
from esante.cyber.awareness.schemas import CampaignIn, ResultIn
from esante.cyber.maturity.service import establishments_of
from esante.web.deps import Csrf, PagePrincipal, SessionDep, WebSessionDep, client_ip
from esante.web.render import render

router = APIRouter(include_in_schema=False)
BASE = "/cyber/sensibilisation"


@router.get(f"{BASE}/test/{{token}}")
def landing(token: str, request: Request, session: SessionDep) -> Response:
    """Where a simulation's test link leads: the same explanation whatever the token."""
    simulation.click(session, token[:80], ip=client_ip(request))
    return render(request, "cyber/awareness/landing.html", {})


MODULE_SLOTS = 3


def parse_quiz(text: str, where: str) -> list[dict[str, object]]:
    """Quiz lines ``Question | choix | *bonne réponse | choix`` as QuestionIn dicts."""
    out: list[dict[str, object]] = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        question, *choices = [x.strip() for x in line.split("|")]
        right = [i for i, c in enumerate(choices) if c.startswith("*")]
        if len(choices) < 2 or len(right) != 1:
            raise Invalid(f"{where}, ligne {n} du quiz : écrivez « question | choix | *bonne "
                          "réponse », au moins deux choix dont un seul marqué d'une *",
                          f"{where}, quiz line {n}: malformed")
        out.append({"question": question, "answer": right[0],
                    "choices": [c.removeprefix("*").strip() for c in choices]})
    return out


def campaign_from_form(form: dict[str, str]) -> CampaignIn:
    modules = []
    for k in range(1, MODULE_SLOTS + 1):
        title = form.get(f"module{k}_title", "").strip()
        if not title:
            continue
        modules.append({"title": title, "content": form.get(f"module{k}_content", ""),
                        "quiz": parse_quiz(form.get(f"module{k}_quiz", ""), f"module {k}")})
    try:
        return CampaignIn.model_validate({
            "title": form.get("title", ""), "description": form.get("description", ""),
            "starts_on": form.get("starts_on") or None, "ends_on": form.get("ends_on") or None,
            "modules": modules})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first.get("loc", ()))
        raise Invalid(f"formulaire invalide : {where or 'campagne'} — {first.get('msg', '')}",
                      "invalid form") from None


def _new_form(request: Request, p: Principal, ws: WebSessionDep, *, values: dict[str, str],
              error: str = "", status_code: int = 200) -> Response:
    return render(request, "cyber/awareness/new.html", {
        "values": values, "error": error, "slots": range(1, MODULE_SLOTS + 1)},
        principal=p, ws=ws, status_code=status_code)


@router.get(f"{BASE}/nouvelle")
def new_campaign(request: Request, p: PagePrincipal, ws: WebSessionDep) -> Response:
    policy.authorize(p, "cyber.awareness.campaign.manage")
    return _new_form(request, p, ws, values={})


@router.post(f"{BASE}/nouvelle", dependencies=[Csrf])
async def create_campaign(request: Request, p: PagePrincipal, session: SessionDep,
                          ws: WebSessionDep) -> Response:
    policy.authorize(p, "cyber.awareness.campaign.manage")
    form = await request.form()
    values = {k: str(v)[:20_000] for k, v in form.items() if k != "csrf_token"}
    try:
        campaign = service.create_campaign(session, p, campaign_from_form(values))
    except DomainError as exc:
        session.rollback()
        return _new_form(request, p, ws, values=values, error=exc.fr, status_code=422)
    return RedirectResponse(f"{BASE}/{campaign.id}?ok=created", status_code=303)


@router.get(BASE)
def campaigns(request: Request, p: PagePrincipal, session: SessionDep,
              ws: WebSessionDep) -> Response:
    rows = service.list_campaigns(session, p)
    return render(request, "cyber/awareness/campaigns.html", {
        "rows": rows, "status_labels": service.STATUS_LABELS,
        "can_write": policy.can(p, "cyber.awareness.campaign.manage")}, principal=p, ws=ws)


@router.get(f"{BASE}/{{campaign_id}}")
def campaign_page(campaign_id: int, request: Request, p: PagePrincipal, session: SessionDep,
                  ws: WebSessionDep) -> Response:
    campaign = service.get_campaign(session, p, campaign_id)
    mine = []
    for est in establishments_of(session, p):
        enrolment = service.enrolment_for(session, campaign, est)
        sims = simulation.simulations_of(session, enrolment) if enrolment else []
        view = service.participation(session, p, campaign, finess=est.finess) \
            if enrolment else None
        mine.append({"est": est, "enrolment": enrolment, "view": view, "simulations": sims,
                     "can_simulate": policy.can(p, "cyber.awareness.simulate", est)})
    return render(request, "cyber/awareness/campaign.html", {
        "c": campaign, "modules": service.modules_of(session, campaign), "mine": mine,
        "status_labels": service.STATUS_LABELS,
        "can_publish": campaign.status == "draft"
        and policy.can(p, "cyber.awareness.campaign.manage"),
        "error": request.query_params.get("erreur", "")[:300],
        "ok": request.query_params.get("ok", "")[:10]}, principal=p, ws=ws)


def _int(value: object, what: str) -> int:
    raw = str(value or "").strip()
    if not raw.isdigit() or len(raw) > 7:
        raise Invalid(f"{what} : indiquez un nombre entier", f"{what}: a whole number")
    return int(raw)


@router.post(f"{BASE}/{{campaign_id}}/action", dependencies=[Csrf])
async def campaign_action(campaign_id: int, request: Request, p: PagePrincipal,
                          session: SessionDep) -> Response:
    campaign = service.get_campaign(session, p, campaign_id)
    form = await request.form()
    action = str(form.get("action") or "")
    try:
        if action == "enrol":
            service.enrol(session, p, campaign, finess=str(form.get("finess") or "")[:12],
                          staff_count=_int(form.get("staff_count"), "personnels visés"))
        elif action == "result":
            enrolment = service.get_enrolment(session, p, _int(form.get("enrolment_id"),
                                                               "inscription"))
            try:
                body = ResultIn(module_id=_int(form.get("module_id"), "module"),
                                participants=_int(form.get("participants"), "participants"),
                                quiz_taken=_int(form.get("quiz_taken") or 0, "quiz passés"),
                                quiz_passed=_int(form.get("quiz_passed") or 0, "quiz réussis"))
            except ValidationError as exc:
                raise Invalid(f"séance : {exc.errors()[0]['msg']}", "invalid session") from None
            service.record_result(session, p, enrolment, body)
        elif action == "simulate":
            enrolment = service.get_enrolment(session, p, _int(form.get("enrolment_id"),
                                                               "inscription"))
            lines = str(form.get("recipients") or "")[:400_000].splitlines()
            subject = str(form.get("subject") or "").strip()[:200] or \
                "Action requise : confirmez votre accès à la messagerie"
            simulation.start(session, p, enrolment, recipients=lines, subject=subject)
        elif action == "publish":
            service.publish(session, p, campaign)
        elif action == "close_simulation":
            sim = simulation.get(session, p, _int(form.get("simulation_id"), "simulation"))
            simulation.close(session, p, sim)
        else:
            raise Invalid("action inconnue", "unknown action")
    except DomainError as exc:
        session.rollback()
        return RedirectResponse(f"{BASE}/{campaign_id}?erreur={quote(exc.fr[:300])}",
                                status_code=303)
    return RedirectResponse(f"{BASE}/{campaign_id}?ok={action}", status_code=303)


@router.get(f"{BASE}/{{campaign_id}}/participation")
def participation_page(campaign_id: int, request: Request, p: PagePrincipal,
                       session: SessionDep, ws: WebSessionDep,
                       finess: str = Query(default="", max_length=12),
                       region: str = Query(default="", max_length=3)) -> Response:
    campaign = service.get_campaign(session, p, campaign_id)
    if not finess and not region and not p.has_role(Role.CYBER_ANALYST):
        regions = sorted({g.scope_ref for g in p.grants_for(Role.REGIONAL_OFFICER)})
        own = establishments_of(session, p)
        if regions:
            region = regions[0]
        elif own:
            finess = own[0].finess
    view = service.participation(session, p, campaign, finess=finess or None,
                                 region=region or None)
    title = {"nation": "France entière", "region": f"Région {orgs.get_region(session, view.ref).name}"
             if view.scope == "region" else "", "establishment": ""}[view.scope] or \
        (view.rows[0].label if view.rows else view.ref)
    if view.scope == "nation":
        chart = {"title": "Couverture par région (%)", "kind": "share",
                 "labels": [r.label for r in view.rows], "data": [r.coverage_pct for r in view.rows]}
    elif view.scope == "region":
        bins = service.coverage_histogram(view.rows)
        chart = {"title": "Établissements inscrits par tranche de couverture", "kind": "count",
                 "labels": [b[0] for b in bins], "data": [b[1] for b in bins]}
    else:
        est = orgs.get_establishment(session, view.ref)
        enrolment = service.enrolment_for(session, campaign, est)
        modules = service.module_coverage(session, campaign, enrolment) if enrolment else []
        chart = {"title": "Couverture par module (%)", "kind": "share",
                 "labels": [m[0] for m in modules], "data": [m[1] for m in modules]}
    return render(request, "cyber/awareness/participation.html", {
        "c": campaign, "v": view, "title": title, "chart": chart}, principal=p, ws=ws)
