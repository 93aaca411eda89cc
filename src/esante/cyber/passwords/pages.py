"""The password test page (``/cyber/mots-de-passe``): the browser hashes the password and
sends only the 5-character prefix to the range below, opened with the page's session."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import PlainTextResponse, Response

from esante.core import policy
from esante.core.settings import get_settings
from esante.cyber.passwords import access as _access  # noqa: F401 - registers the rule
from esante.cyber.passwords.api import Prefix, range_response
from esante.web.deps import PagePrincipal, SessionDep, WebSessionDep
from esante.web.render import render

router = APIRouter(include_in_schema=False)
BASE = "/cyber/mots-de-passe"


@router.get(BASE)
def password_test(request: Request, p: PagePrincipal, ws: WebSessionDep) -> Response:
    policy.authorize(p, "password.range.read")
    s = get_settings()
    return render(request, "cyber/passwords/test.html", {
        "min_length": s.password_min_length, "breach_check": s.password_breach_check,
    }, principal=p, ws=ws)


@router.get(BASE + "/plage/{prefix}")
def password_range(prefix: Prefix, p: PagePrincipal, session: SessionDep) -> PlainTextResponse:
    policy.authorize(p, "password.range.read")
    return range_response(session, prefix)
