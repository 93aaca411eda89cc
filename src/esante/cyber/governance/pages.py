"""The director's governance page (French, DSFR) and its PDF for the board."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from esante.cyber.governance import service
from esante.cyber.governance.pdf import render_pdf
from esante.cyber.maturity.catalogue import catalogue
from esante.cyber.maturity.pages import radar_data
from esante.web.deps import PagePrincipal, SessionDep, WebSessionDep
from esante.web.render import render

router = APIRouter(include_in_schema=False)
BASE = "/cyber/gouvernance"


@router.get(f"{BASE}/{{finess}}")
def governance_page(finess: str, request: Request, p: PagePrincipal, session: SessionDep,
                    ws: WebSessionDep) -> Response:
    g = service.governance(session, p, finess[:12])
    return render(request, "cyber/governance/page.html", {
        "g": g, "cat": catalogue(), "radar": radar_data(g.maturity)}, principal=p, ws=ws)


@router.get(f"{BASE}/{{finess}}/rapport.pdf")
def governance_pdf(finess: str, p: PagePrincipal, session: SessionDep) -> Response:
    g = service.governance(session, p, finess[:12])
    return Response(render_pdf(g), media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="gouvernance-cyber-{g.est.finess}.pdf"'})
