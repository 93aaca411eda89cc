"""Pages: the directory of establishments, by region."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from esante.core import policy
from esante.core.orgs import service
from esante.core.orgs.data import CATEGORIES
from esante.web.deps import PagePrincipal, SessionDep, WebSessionDep
from esante.web.render import render

router = APIRouter(include_in_schema=False)
PAGE = 50


@router.get("/organisations")
def directory(
    request: Request, p: PagePrincipal, session: SessionDep, ws: WebSessionDep,
    region: str | None = Query(default=None, max_length=2),
    q: str | None = Query(default=None, max_length=80),
    page: int = Query(default=1, ge=1, le=10_000),
) -> Response:
    policy.authorize(p, "organisation.read")
    total, rows = service.search_establishments(session, region=region or None, q=q or None,
                                                limit=PAGE, offset=(page - 1) * PAGE)
    return render(request, "orgs/directory.html", {
        "regions": service.list_regions(session), "rows": rows, "total": total,
        "cell": service.national_cell(session),
        "region": region or "", "q": q or "", "page": page,
        "pages": max(1, (total + PAGE - 1) // PAGE), "categories": CATEGORIES,
    }, principal=p, ws=ws)
