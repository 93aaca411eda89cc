"""Pages of the data hub (French, DSFR): the public catalogue and registry of projects, a
project's page with its timeline and the reviewers' forms, the submission form, the
reviewers' queues and the citizen's opt-out page."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from esante.core import policy
from esante.core.errors import DomainError, Invalid
from esante.core.policy import Principal
from esante.datahub import catalogue, optout, projects, release_pages
from esante.datahub.dictionary import SENSITIVITY_LABELS
from esante.datahub.models import Project
from esante.datahub.schemas import (
    CompletenessIn,
    DecisionIn,
    OpinionIn,
    ProjectIn,
    ResultsIn,
)
from esante.web.deps import (
    Csrf,
    OptionalPagePrincipal,
    PagePrincipal,
    SessionDep,
    WebSessionDep,
)
from esante.web.render import render

router = APIRouter(include_in_schema=False)
BASE = "/donnees-de-sante"
LABELS = {"status_labels": projects.STATUS_LABELS, "opinions": projects.OPINION_LABELS,
          "methodologies": projects.METHODOLOGY_LABELS, "sensitivities": SENSITIVITY_LABELS,
          "event_labels": projects.EVENT_LABELS, "queues": projects.QUEUES}


def _error(request: Request) -> str:
    return request.query_params.get("erreur", "")[:300]


def _invalid(exc: ValidationError) -> Invalid:
    first = exc.errors()[0]
    where = ".".join(str(x) for x in first.get("loc", ()))
    return Invalid(f"formulaire invalide : {where} — {first.get('msg', '')}", "invalid form")


# --- public: catalogue and registry --------------------------------------------------------------

@router.get(BASE)
def catalogue_page(request: Request, p: OptionalPagePrincipal, session: SessionDep,
                   ws: WebSessionDep) -> Response:
    return render(request, "datahub/catalogue.html", {
        "datasets": catalogue.list_datasets(session), **LABELS}, principal=p, ws=ws)


@router.get(BASE + "/jeux/{slug}")
def dataset_page(slug: str, request: Request, p: OptionalPagePrincipal, session: SessionDep,
                 ws: WebSessionDep) -> Response:
    ds = catalogue.get_dataset(session, slug[:60])
    return render(request, "datahub/dataset.html", {
        "ds": ds, "columns": catalogue.columns_of(session, ds), **LABELS}, principal=p, ws=ws)


@router.get(BASE + "/projets")
def registry_page(request: Request, p: OptionalPagePrincipal, session: SessionDep,
                  ws: WebSessionDep,
                  statut: str = Query(default="", max_length=20)) -> Response:
    wanted = statut if statut in projects.PUBLIC_STATUSES else None
    total, rows = projects.registry(session, status=wanted, limit=500)
    return render(request, "datahub/registry.html", {
        "rows": rows, "total": total, "statut": statut,
        "public_statuses": projects.PUBLIC_STATUSES, **LABELS}, principal=p, ws=ws)


# --- researchers: the submission form and their projects -------------------------------------------

def _form(request: Request, p: Principal, session: SessionDep, ws: WebSessionDep, *,
          error: str = "", values: dict[str, Any] | None = None,
          status_code: int = 200) -> Response:
    policy.authorize(p, "datahub.project.create")
    datasets = [(ds, catalogue.columns_of(session, ds)) for ds in catalogue.list_datasets(session)]
    return render(request, "datahub/project_form.html", {
        "datasets": datasets, "error": error, "values": values or {}, **LABELS},
        principal=p, ws=ws, status_code=status_code)


@router.get(BASE + "/projets/nouveau")
def new_project(request: Request, p: PagePrincipal, session: SessionDep,
                ws: WebSessionDep) -> Response:
    return _form(request, p, session, ws)


def _team(raw: str) -> list[dict[str, str]]:
    team = []
    for line in raw.splitlines():
        if not line.strip():
            continue
        parts = [x.strip() for x in line.split(";")]
        if len(parts) < 2 or not parts[0] or not parts[1]:
            raise Invalid(f"équipe : « {line[:80]} » — une personne par ligne, « Nom ; "
                          "Organisme ; Rôle »", "team: one member per line")
        team.append({"name": parts[0], "affiliation": parts[1],
                     "role": parts[2] if len(parts) > 2 else ""})
    return team


def _project_in(form: FormData) -> tuple[ProjectIn, dict[str, Any]]:
    values: dict[str, Any] = {k: str(form.get(k) or "") for k in (
        "title", "purpose", "team", "methodology", "methodology_details",
        "linkage_justification", "duration_months", "expected_outputs", "k", "l", "l_column")}
    values["columns"] = [str(c) for c in form.getlist("columns")][:200]
    values["conformity_commitment"] = bool(form.get("conformity_commitment"))
    values["linkage"] = bool(form.get("linkage"))
    try:
        body = ProjectIn.model_validate({
            **values, "team": _team(values["team"]),
            "duration_months": values["duration_months"] or None, "k": values["k"] or 5,
            "l": values["l"] or None, "l_column": values["l_column"] or None})
    except ValidationError as exc:
        raise _invalid(exc) from None
    return body, values


@router.post(BASE + "/projets/nouveau", dependencies=[Csrf])
async def create_project(request: Request, p: PagePrincipal, session: SessionDep,
                         ws: WebSessionDep) -> Response:
    policy.authorize(p, "datahub.project.create")
    form = await request.form()
    values: dict[str, Any] = {}
    try:
        body, values = _project_in(form)
        project = projects.create(session, p, body)
        if form.get("action") == "submit":
            projects.submit(session, p, project)
    except DomainError as exc:
        session.rollback()
        values = values or {k: str(form.get(k) or "") for k in ("title", "purpose", "team")}
        return _form(request, p, session, ws, error=exc.fr, values=values, status_code=422)
    return RedirectResponse(f"{BASE}/projets/{project.id}", status_code=303)


@router.get(BASE + "/mes-projets")
def my_projects(request: Request, p: PagePrincipal, session: SessionDep,
                ws: WebSessionDep) -> Response:
    return render(request, "datahub/mine.html", {
        "rows": projects.mine(session, p), **LABELS}, principal=p, ws=ws)


@router.get(BASE + "/evaluation")
def review_queue(request: Request, p: PagePrincipal, session: SessionDep,
                 ws: WebSessionDep) -> Response:
    return render(request, "datahub/queue.html", {
        "queue": projects.queue(session, p), "opt_outs": optout.count_active(session, p),
        **LABELS}, principal=p, ws=ws)


# --- a project's page and its actions --------------------------------------------------------------

def _actions(p: Principal | None, project: Project) -> set[str]:
    if p is None:
        return set()
    out = set()
    if project.status in ("draft", "returned") and policy.can(p, "datahub.project.submit", project):
        out.add("submit")
    if project.status == "approved" and policy.can(p, "datahub.project.results", project):
        out.add("results")
    if policy.can(p, "datahub.project.review", project):
        out |= {"submitted": {"completeness"}, "complete": {"opinion"},
                "opinion_given": {"decision"}}.get(project.status, set())
    return out


@router.get(BASE + "/projets/{project_id}")
def project_page(project_id: int, request: Request, p: OptionalPagePrincipal,
                 session: SessionDep, ws: WebSessionDep) -> Response:
    project = projects.get_project(session, p, project_id)
    return render(request, "datahub/project.html", {
        "project": project, "columns": projects.requested(session, project),
        "events": projects.timeline(session, project), "actions": _actions(p, project),
        "error": _error(request), **release_pages.project_context(session, p, project),
        **LABELS}, principal=p, ws=ws)


_PERMISSION = {"submit": "datahub.project.submit", "results": "datahub.project.results",
               "completeness": "datahub.project.review", "opinion": "datahub.project.review",
               "decision": "datahub.project.review"}


def _apply(session: SessionDep, p: Principal, project: Project, action: str,
           form: FormData) -> None:
    text = str(form.get("text") or "").strip()[:20_000]
    try:
        if action == "submit":
            projects.submit(session, p, project)
        elif action == "completeness":
            projects.check_completeness(session, p, project, CompletenessIn(
                complete=form.get("complete") == "yes", note=text))
        elif action == "opinion":
            projects.give_opinion(session, p, project, OpinionIn.model_validate(
                {"opinion": str(form.get("opinion") or ""), "reasons": text}))
        elif action == "decision":
            projects.decide(session, p, project, DecisionIn.model_validate({
                "authorised": form.get("authorised") == "yes", "reasons": text,
                "k": str(form.get("k") or "") or None,
                "suppression_limit": str(form.get("suppression_limit") or "") or None,
                "date_shift": form.get("date_shift") == "yes"}))
        elif action == "results":
            projects.publish_results(session, p, project, ResultsIn(results=text))
    except ValidationError as exc:
        raise _invalid(exc) from None


@router.post(BASE + "/projets/{project_id}/action", dependencies=[Csrf])
async def project_action(project_id: int, request: Request, p: PagePrincipal,
                         session: SessionDep) -> Response:
    form = await request.form()
    action = str(form.get("action") or "")
    project = projects.get_project(session, p, project_id)
    if action not in _PERMISSION:
        raise Invalid("action inconnue", "unknown action")
    policy.authorize(p, _PERMISSION[action], project)
    try:
        _apply(session, p, project, action, form)
    except DomainError as exc:
        session.rollback()
        return RedirectResponse(f"{BASE}/projets/{project_id}?erreur={quote(exc.fr[:300])}",
                                status_code=303)
    return RedirectResponse(f"{BASE}/projets/{project_id}", status_code=303)


# --- citizens: opt-out -------------------------------------------------------------------------------

@router.get(BASE + "/opposition")
def optout_page(request: Request, p: PagePrincipal, session: SessionDep,
                ws: WebSessionDep) -> Response:
    return render(request, "datahub/optout.html", {
        "rows": optout.list_mine(session, p), "error": _error(request),
        "ok": request.query_params.get("ok", "")[:20]}, principal=p, ws=ws)


@router.post(BASE + "/opposition", dependencies=[Csrf])
async def optout_action(request: Request, p: PagePrincipal, session: SessionDep) -> Response:
    policy.authorize(p, "datahub.optout.self")
    form = await request.form()
    action = str(form.get("action") or "")
    try:
        if action == "record":
            optout.record(session, p, nir=str(form.get("nir") or "")[:30], channel="web")
        elif action == "withdraw":
            raw = str(form.get("opt_out_id") or "")
            if not raw.isdigit():
                raise Invalid("opposition non précisée", "which objection?")
            optout.withdraw(session, p, int(raw))
        else:
            raise Invalid("action inconnue", "unknown action")
    except DomainError as exc:
        session.rollback()
        return RedirectResponse(f"{BASE}/opposition?erreur={quote(exc.fr[:300])}",
                                status_code=303)
    return RedirectResponse(f"{BASE}/opposition?ok={action}", status_code=303)


router.include_router(release_pages.router)  # extracts and output checks of a project
