"""Pages of the apps domain (``/applications``): the public catalogue and doctrine, the
person's connected apps, the publisher portal and the reviewers' queue."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from esante.apps import consultation, service
from esante.apps import scopes as smart
from esante.apps.checks import CATEGORY_FR
from esante.apps.doctrine import current
from esante.apps.schemas import AppFileIn, DecisionIn
from esante.core.errors import DomainError, Invalid
from esante.core.policy import authorize, can
from esante.web.deps import (
    Csrf,
    OptionalPagePrincipal,
    PagePrincipal,
    SessionDep,
    WebSessionDep,
)
from esante.web.render import render

router = APIRouter(include_in_schema=False)
BASE = "/applications"


def _error(request: Request) -> str:
    return request.query_params.get("erreur", "")[:300]


def _back(path: str, exc: DomainError) -> RedirectResponse:
    return RedirectResponse(f"{path}?erreur={quote(exc.fr[:300])}", status_code=303)


def _invalid(exc: ValidationError) -> Invalid:
    first = exc.errors()[0]
    where = ".".join(str(x) for x in first.get("loc", ()))
    msg = str(first.get("msg", "")).removeprefix("Value error, ")
    return Invalid(f"dossier invalide : {where} — {msg}", "invalid app file")


# --- public ------------------------------------------------------------------------------------

@router.get(BASE)
def catalogue(request: Request, p: OptionalPagePrincipal, session: SessionDep, ws: WebSessionDep,
              q: Annotated[str, Query(max_length=100)] = "",
              categorie: Annotated[str, Query(max_length=40)] = "") -> Response:
    apps = service.list_apps(session, query=q, category=categorie)
    return render(request, "apps/catalogue.html", {"apps": apps, "q": q, "categorie": categorie,
                                                   "categories": CATEGORY_FR},
                  principal=p, ws=ws)


@router.get(BASE + "/doctrine")
def doctrine_page(request: Request, p: OptionalPagePrincipal, session: SessionDep,
                  ws: WebSessionDep) -> Response:
    version, reqs = current(session)
    return render(request, "apps/doctrine.html", {
        "version": version, "requirements": reqs, "versions": consultation.versions(session)},
        principal=p, ws=ws)


@router.get(BASE + "/doctrine/versions/{version}")
def doctrine_version_page(version: str, request: Request, p: OptionalPagePrincipal,
                          session: SessionDep, ws: WebSessionDep) -> Response:
    v = consultation.get_version(session, version)
    open_ = v.status == "consultation" and (v.consultation_ends_on is None
                                            or v.consultation_ends_on >= date.today())
    return render(request, "apps/doctrine_version.html", {
        "v": v, "requirements": consultation.requirements(session, v), "open": open_,
        "comments": consultation.comments_of(session, v), "error": _error(request),
        "is_admin": p is not None and can(p, "apps.doctrine.manage")}, principal=p, ws=ws)


@router.post(BASE + "/doctrine/exigences/{requirement_id}/commentaires", dependencies=[Csrf])
async def comment(requirement_id: int, request: Request, p: PagePrincipal,
                  session: SessionDep) -> Response:
    form = await request.form(max_fields=5)
    req = consultation.requirement(session, requirement_id)
    back = f"{BASE}/doctrine/versions/{consultation.version_of(session, req).version}"
    try:
        consultation.comment(session, p, requirement_id, str(form.get("body") or "")[:4000])
    except DomainError as exc:
        return _back(back, exc)
    return RedirectResponse(back, status_code=303)


@router.post(BASE + "/doctrine/commentaires/{comment_id}/reponse", dependencies=[Csrf])
async def answer(comment_id: int, request: Request, p: PagePrincipal,
                 session: SessionDep) -> Response:
    authorize(p, "apps.doctrine.manage")
    form = await request.form(max_fields=5)
    row = consultation.get_comment(session, comment_id)
    req = consultation.requirement(session, row.requirement_id)
    back = f"{BASE}/doctrine/versions/{consultation.version_of(session, req).version}"
    try:
        consultation.answer(session, p, comment_id, str(form.get("body") or "")[:4000])
    except DomainError as exc:
        return _back(back, exc)
    return RedirectResponse(back, status_code=303)


# --- the person's connected apps --------------------------------------------------------------

@router.get(BASE + "/connectees")
def connected(request: Request, p: PagePrincipal, session: SessionDep,
              ws: WebSessionDep) -> Response:
    return render(request, "apps/connected.html", {
        "connections": service.connections(session, p), "error": _error(request)},
        principal=p, ws=ws)


@router.post(BASE + "/connectees/{grant_id}/retirer", dependencies=[Csrf])
def revoke(grant_id: int, p: PagePrincipal, session: SessionDep) -> Response:
    service.revoke_connection(session, p, grant_id)  # someone else's grant: 404
    return RedirectResponse(BASE + "/connectees", status_code=303)


# --- publishers ---------------------------------------------------------------------------------

@router.get(BASE + "/editeur")
def portal(request: Request, p: PagePrincipal, session: SessionDep, ws: WebSessionDep) -> Response:
    authorize(p, "apps.file.create")
    mine = [a for a in service.list_apps(session, status=None) if a.owner_id == p.user.id]
    return render(request, "apps/portal.html", {"apps": mine, "error": _error(request),
                                                "categories": CATEGORY_FR}, principal=p, ws=ws)


def _scopes_from(text: str) -> list[dict[str, str]]:
    out = []
    for line in text.splitlines()[:40]:
        scope, _, reason = line.partition(":")
        if scope.strip():
            out.append({"scope": scope.strip()[:100], "reason": reason.strip()[:500]})
    return out


@router.post(BASE + "/editeur", dependencies=[Csrf])
async def create(request: Request, p: PagePrincipal, session: SessionDep) -> Response:
    authorize(p, "apps.file.create")
    form = await request.form(max_fields=40)
    fields = {k: str(form.get(k) or "").strip() for k in (
        "name", "publisher_name", "siret", "purpose", "category", "description", "privacy_url",
        "hosting_certificate", "support_email", "logo_url")}
    try:
        data = AppFileIn.model_validate({
            **fields, "scopes": _scopes_from(str(form.get("scopes") or "")),
            "redirect_uris": [u.strip() for u in str(form.get("redirect_uris") or "").split()
                              if u.strip()][:10],
            "pkce": form.get("pkce") == "oui"})
    except ValidationError as exc:
        return _back(BASE + "/editeur", _invalid(exc))
    try:
        app = service.create_app(session, p, data)
    except DomainError as exc:
        return _back(BASE + "/editeur", exc)
    return RedirectResponse(f"{BASE}/{app.id}", status_code=303)


@router.post(BASE + "/{app_id}/soumettre", dependencies=[Csrf])
def submit(app_id: int, p: PagePrincipal, session: SessionDep) -> Response:
    app = service.get_app(session, app_id)
    authorize(p, "apps.file.write", app)
    try:
        service.submit(session, p, app)
    except DomainError as exc:
        return _back(f"{BASE}/{app_id}", exc)
    return RedirectResponse(f"{BASE}/{app_id}", status_code=303)


@router.post(BASE + "/{app_id}/lancer", dependencies=[Csrf])
async def launch(app_id: int, request: Request, p: PagePrincipal, session: SessionDep) -> Response:
    """EHR launch: from a patient's record, open the app with that patient as context."""
    form = await request.form(max_fields=5)
    app = service.get_app(session, app_id)
    authorize(p, "apps.launch", app)
    ctx = service.start_launch(session, p, app, str(form.get("patient") or ""))
    iss = str(request.app.state.settings.base_url).rstrip("/") + "/fhir"
    sep = "&" if "?" in app.launch_url else "?"
    return RedirectResponse(f"{app.launch_url}{sep}{urlencode({'iss': iss, 'launch': ctx.id})}",
                            status_code=303)


# --- reviewers ----------------------------------------------------------------------------------

@router.get(BASE + "/instruction")
def review_queue(request: Request, p: PagePrincipal, session: SessionDep,
                 ws: WebSessionDep) -> Response:
    authorize(p, "apps.review.list")
    return render(request, "apps/queue.html", {
        "submitted": service.list_apps(session, status="submitted"),
        "published": service.list_apps(session, status="published"),
        "suspended": service.list_apps(session, status="suspended"),
        "due": service.due_for_review(session)}, principal=p, ws=ws)


@router.post(BASE + "/{app_id}/decision", dependencies=[Csrf])
async def decision(app_id: int, request: Request, p: PagePrincipal, session: SessionDep) -> Response:
    form = await request.form(max_fields=10)
    app = service.get_app(session, app_id)
    authorize(p, "apps.review", app)
    try:
        data = DecisionIn.model_validate({"decision": str(form.get("decision") or ""),
                                          "reasons": str(form.get("reasons") or "")})
        service.decide(session, p, app, data.decision, data.reasons)
    except ValidationError as exc:
        return _back(f"{BASE}/{app_id}", _invalid(exc))
    except DomainError as exc:
        session.rollback()
        return _back(f"{BASE}/{app_id}", exc)
    return RedirectResponse(f"{BASE}/{app_id}", status_code=303)


@router.get(BASE + "/{app_id}")
def app_page(app_id: int, request: Request, p: OptionalPagePrincipal, session: SessionDep,
             ws: WebSessionDep) -> Response:
    app = service.readable_app(session, p, app_id)
    _, reqs = current(session)
    return render(request, "apps/app.html", {
        "app": app, "requirements": {r.code: r for r in reqs}, "error": _error(request),
        "reviews": service.reviews_of(session, app), "categories": CATEGORY_FR,
        "is_owner": p is not None and can(p, "apps.file.write", app),
        "is_reviewer": p is not None and can(p, "apps.review", app),
        "describe": smart.describe_fr},
        principal=p, ws=ws)
