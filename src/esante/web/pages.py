"""Shell pages: home per role, API docs (served without inline scripts)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from esante.core.accounts.models import Role
from esante.core.orgs import service as orgs
from esante.web.deps import OptionalPagePrincipal, SessionDep, WebSessionDep
from esante.web.render import render, scope_label

router = APIRouter(include_in_schema=False)


@router.get("/")
def home(request: Request, p: OptionalPagePrincipal, session: SessionDep,
         ws: WebSessionDep) -> Response:
    if p is None:
        return RedirectResponse("/login", status_code=303)
    establishments = []
    for g in p.grants:
        if g.scope_kind == "establishment":
            establishments.append(orgs.get_establishment(session, g.scope_ref))
    regions = [orgs.get_region(session, g.scope_ref) for g in p.grants if g.scope_kind == "region"]
    return render(request, "home.html", {
        "scope": scope_label(p),
        "establishments": establishments,
        "regions": regions,
        "is_admin": p.has_role(Role.ADMIN),
        "is_citizen_only": all(g.role == Role.CITIZEN for g in p.grants),
        "roles": sorted({g.role for g in p.grants}),
    }, principal=p, ws=ws)


@router.get("/api/docs")
def api_docs(request: Request) -> Response:
    return request.app.state.templates.TemplateResponse(request, "api_docs.html", {})
