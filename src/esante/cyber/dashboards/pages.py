"""Dashboard pages: charts drawn by /static/js/dashboards.js from data-* attributes, each
with an accessible table of the same figures; ``?format=csv`` downloads the figures."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import RedirectResponse, Response

from esante.core.accounts.models import WebSession
from esante.core.errors import Forbidden
from esante.core.policy import Principal
from esante.cyber.dashboards import service
from esante.cyber.dashboards.api import csv_response
from esante.cyber.dashboards.schemas import Dashboard
from esante.web.deps import PagePrincipal, SessionDep, WebSessionDep
from esante.web.render import render

router = APIRouter(include_in_schema=False)
Format = Annotated[Literal["html", "csv"], Query()]
RegionCode = Annotated[str, Path(min_length=2, max_length=2, pattern="^[0-9]{2}$")]
Finess = Annotated[str, Path(max_length=12)]


def _page(request: Request, d: Dashboard, fmt: str, p: Principal,
          ws: WebSession | None) -> Response:
    if fmt == "csv":
        return csv_response(d)
    return render(request, "cyber/dashboards/dashboard.html", {"d": d}, principal=p,
                  ws=ws)


@router.get("/cyber/tableaux-de-bord")
def national(request: Request, p: PagePrincipal, session: SessionDep, ws: WebSessionDep,
             format: Format = "html") -> Response:
    target = service.default_target(p)
    if target is None:
        raise Forbidden("accès refusé : tableaux de bord de cybervigilance",
                        "access denied: cyber.dashboard.national", code="forbidden")
    if target != "/cyber/tableaux-de-bord":
        return RedirectResponse(target, status_code=303)
    return _page(request, service.national(session, p), format, p, ws)


@router.get("/cyber/tableaux-de-bord/region/{code}")
def region(request: Request, code: RegionCode, p: PagePrincipal, session: SessionDep,
           ws: WebSessionDep, format: Format = "html") -> Response:
    return _page(request, service.regional(session, p, code), format, p, ws)


@router.get("/cyber/tableaux-de-bord/etablissement/{finess}")
def establishment(request: Request, finess: Finess, p: PagePrincipal, session: SessionDep,
                  ws: WebSessionDep, format: Format = "html") -> Response:
    return _page(request, service.establishment(session, p, finess), format, p, ws)
