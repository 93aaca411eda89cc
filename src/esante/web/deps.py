"""Request dependencies, declared once as ``Annotated`` aliases."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Form, Request
from sqlalchemy.orm import Session

from esante.core.accounts import service as accounts
from esante.core.accounts.models import WebSession
from esante.core.audit import Actor
from esante.core.errors import Forbidden, Unauthenticated
from esante.core.policy import Principal
from esante.core.settings import Settings, get_settings
from esante.web.errors import LoginRequired

SESSION_COOKIE = "esante_session"


async def get_db(request: Request) -> Session:
    # async: creating a Session does no I/O (it connects on first use), so it need not
    # cost a trip through the thread pool.
    if request.state.db is None:
        request.state.db = request.app.state.session_factory()
    return request.state.db


SessionDep = Annotated[Session, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def anonymous_actor(request: Request) -> Actor:
    return Actor(user_id=None, label="anonyme", ip=client_ip(request))


def api_principal(request: Request, session: SessionDep) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw:
        raise Unauthenticated("authentification requise : en-tête Authorization: Bearer <jeton>",
                              "authentication required: Authorization: Bearer <token>",
                              code="token-missing")
    if raw.count(".") == 2:  # a JWT: a SMART access token, for the FHIR API only
        return _smart_principal(request, session, raw.strip())
    user, token = accounts.authenticate_token(session, raw.strip())
    return Principal.of(user, token_scopes=token.scopes, ip=client_ip(request))


def _smart_principal(request: Request, session: Session, raw: str) -> Principal:
    from esante.apps.tokens import principal_for

    base = str(request.app.state.settings.base_url).rstrip("/")  # not the Host header
    if not request.url.path.startswith("/fhir"):
        raise Unauthenticated("un jeton SMART ne vaut que pour l'API FHIR (/fhir)",
                              "a SMART access token is valid for /fhir only",
                              code="invalid_token")
    return principal_for(session, raw, audience=base + "/fhir", issuer=base,
                         ip=client_ip(request))


ApiPrincipal = Annotated[Principal, Depends(api_principal)]


def web_session(request: Request, session: SessionDep) -> WebSession | None:
    if "web_session" not in request.state._state:
        request.state.web_session = accounts.load_web_session(
            session, request.cookies.get(SESSION_COOKIE))
    return request.state.web_session


WebSessionDep = Annotated[WebSession | None, Depends(web_session)]


def optional_page_principal(
    request: Request, session: SessionDep, ws: WebSessionDep
) -> Principal | None:
    if ws is None or ws.stage != "authenticated" or ws.user_id is None:
        return None
    user = accounts.get_user(session, ws.user_id)
    if not user.is_active:
        return None
    return Principal.of(user, ip=client_ip(request))


OptionalPagePrincipal = Annotated[Principal | None, Depends(optional_page_principal)]


def page_principal(p: OptionalPagePrincipal) -> Principal:
    if p is None:
        raise LoginRequired
    return p


PagePrincipal = Annotated[Principal, Depends(page_principal)]


def check_csrf(ws: WebSessionDep, csrf_token: Annotated[str, Form(max_length=100)] = "") -> None:
    """Every form carries the session's token (synchronizer pattern)."""
    if ws is None or not hmac.compare_digest(ws.csrf_token, csrf_token):
        raise Forbidden("formulaire expiré ou invalide : rechargez la page et réessayez",
                        "invalid or missing CSRF token", code="csrf")


Csrf = Depends(check_csrf)
