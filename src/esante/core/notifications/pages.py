"""Pages: my notifications."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from esante.core.notifications import service
from esante.web.deps import Csrf, PagePrincipal, SessionDep, WebSessionDep
from esante.web.render import render

router = APIRouter(include_in_schema=False)


@router.get("/notifications")
def notifications(request: Request, p: PagePrincipal, session: SessionDep,
                  ws: WebSessionDep) -> Response:
    items = service.list_for(session, user=p.user, limit=100)
    return render(request, "notifications.html", {"items": items}, principal=p, ws=ws)


@router.post("/notifications/read-all", dependencies=[Csrf])
def read_all(p: PagePrincipal, session: SessionDep) -> Response:
    service.mark_all_read(session, user=p.user)
    return RedirectResponse("/notifications", status_code=303)
