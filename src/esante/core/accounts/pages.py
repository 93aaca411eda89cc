"""Pages: login with second factor, logout, account (password, TOTP, API tokens)."""

from __future__ import annotations

import base64
from typing import Annotated

import segno
from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from esante.core import audit
from esante.core.accounts import service
from esante.core.accounts.models import WebSession
from esante.core.audit import Actor
from esante.core.errors import DomainError, Invalid
from esante.web.deps import (
    Csrf,
    PagePrincipal,
    SessionDep,
    WebSessionDep,
    anonymous_actor,
    client_ip,
)
from esante.web.render import render, set_session_cookie

router = APIRouter(include_in_schema=False)

Text = Annotated[str, Form(max_length=256)]


def _safe_next(target: str | None) -> str:
    # Only local paths: no open redirect.
    if target and target.startswith("/") and not target.startswith("//"):
        return target[:300]
    return "/"


def _ensure_session(request: Request, session: SessionDep, ws: WebSession | None
                    ) -> tuple[WebSession, str | None]:
    if ws is not None:
        return ws, None
    ws, raw = service.new_web_session(session)
    request.state.web_session = ws
    return ws, raw


@router.get("/login")
def login_form(request: Request, session: SessionDep, ws: WebSessionDep,
               next: str | None = None) -> Response:
    if ws is not None and ws.stage == "authenticated":
        return RedirectResponse(_safe_next(next), status_code=303)
    ws, raw = _ensure_session(request, session, ws)
    response = render(request, "accounts/login.html", {"next": _safe_next(next)}, ws=ws)
    if raw:
        set_session_cookie(request, response, raw)
    return response


@router.post("/login", dependencies=[Csrf])
def login(request: Request, session: SessionDep, ws: WebSessionDep,
          email: Text, password: Text, next: Annotated[str, Form(max_length=300)] = "/",
          ) -> Response:
    assert ws is not None  # CSRF check guarantees a session
    try:
        user = service.check_password(session, actor=anonymous_actor(request), email=email,
                                      password=password)
    except DomainError as exc:
        request.state.commit_anyway = True  # keep the failure counter and the audit record
        return render(request, "accounts/login.html",
                      {"error": exc.fr, "email": email[:254], "next": _safe_next(next)},
                      ws=ws, status_code=exc.status)
    ws.user_id = user.id
    if not service.needs_second_factor(user):
        ws.stage = "authenticated"
        service.login_succeeded(session, actor=_actor(request, user.id, user.email), user=user)
        target = _safe_next(next)
    elif user.totp_confirmed:
        ws.stage = "password_ok"
        target = f"/login/otp?next={_safe_next(next)}"
    else:
        ws.stage = "enrol"  # the role requires a second factor that is not set up yet
        target = "/login/enrol"
    _, raw = service.rotate_web_session(session, ws)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, response, raw)
    return response


def _actor(request: Request, user_id: int, label: str) -> Actor:
    return Actor(user_id=user_id, label=label, ip=client_ip(request))


def _pending_user(session: SessionDep, ws: WebSession | None, stage: str):
    if ws is None or ws.stage != stage or ws.user_id is None:
        return None
    return service.get_user(session, ws.user_id)


@router.get("/login/otp")
def otp_form(request: Request, session: SessionDep, ws: WebSessionDep,
             next: str | None = None) -> Response:
    if _pending_user(session, ws, "password_ok") is None:
        return RedirectResponse("/login", status_code=303)
    return render(request, "accounts/otp.html", {"next": _safe_next(next)}, ws=ws)


@router.post("/login/otp", dependencies=[Csrf])
def otp(request: Request, session: SessionDep, ws: WebSessionDep,
        code: Annotated[str, Form(max_length=20)],
        next: Annotated[str, Form(max_length=300)] = "/") -> Response:
    user = _pending_user(session, ws, "password_ok")
    if user is None or ws is None:
        return RedirectResponse("/login", status_code=303)
    actor = _actor(request, user.id, user.email)
    try:
        service.check_second_factor(session, actor=actor, user=user, code=code)
    except DomainError as exc:
        request.state.commit_anyway = True
        return render(request, "accounts/otp.html", {"error": exc.fr, "next": _safe_next(next)},
                      ws=ws, status_code=exc.status)
    ws.stage = "authenticated"
    service.login_succeeded(session, actor=actor, user=user)
    _, raw = service.rotate_web_session(session, ws)
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_session_cookie(request, response, raw)
    return response


def _qr_data_uri(uri: str) -> str:
    svg = segno.make(uri, error="m").svg_inline(scale=4)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


@router.get("/login/enrol")
def enrol_form(request: Request, session: SessionDep, ws: WebSessionDep) -> Response:
    user = _pending_user(session, ws, "enrol")
    if user is None:
        return RedirectResponse("/login", status_code=303)
    secret = service.start_totp_setup(session, user=user)
    uri = service.totp_uri(session, user)
    return render(request, "accounts/totp_setup.html",
                  {"secret": secret, "qr": _qr_data_uri(uri), "action": "/login/enrol",
                   "mandatory": True}, ws=ws)


@router.post("/login/enrol", dependencies=[Csrf])
def enrol(request: Request, session: SessionDep, ws: WebSessionDep,
          code: Annotated[str, Form(max_length=20)]) -> Response:
    user = _pending_user(session, ws, "enrol")
    if user is None or ws is None:
        return RedirectResponse("/login", status_code=303)
    actor = _actor(request, user.id, user.email)
    try:
        codes = service.confirm_totp(session, actor=actor, user=user, code=code)
    except DomainError as exc:
        uri = service.totp_uri(session, user)
        return render(request, "accounts/totp_setup.html",
                      {"error": exc.fr, "qr": _qr_data_uri(uri), "action": "/login/enrol",
                       "mandatory": True}, ws=ws, status_code=exc.status)
    ws.stage = "authenticated"
    service.login_succeeded(session, actor=actor, user=user)
    _, raw = service.rotate_web_session(session, ws)
    response = render(request, "accounts/recovery_codes.html", {"codes": codes}, ws=ws)
    set_session_cookie(request, response, raw)
    return response


@router.post("/logout", dependencies=[Csrf])
def logout(request: Request, session: SessionDep, ws: WebSessionDep) -> Response:
    if ws is not None:
        if ws.user_id is not None:
            audit.record(session, actor=_actor(request, ws.user_id, f"user:{ws.user_id}"),
                         action="auth.logout", object_type="user", object_id=ws.user_id,
                         subject_user_id=ws.user_id)
        session.delete(ws)
    response = RedirectResponse("/login?bye=1", status_code=303)
    response.delete_cookie("esante_session", path="/")
    return response


@router.get("/account")
def account(request: Request, p: PagePrincipal, session: SessionDep,
            ws: WebSessionDep) -> Response:
    tokens = service.list_tokens(session, user=p.user)
    return render(request, "accounts/account.html", {"tokens": tokens}, principal=p, ws=ws)


@router.post("/account/password", dependencies=[Csrf])
def password(request: Request, p: PagePrincipal, session: SessionDep, ws: WebSessionDep,
             current_password: Text, new_password: Text, confirm_password: Text) -> Response:
    try:
        if new_password != confirm_password:
            raise Invalid("les deux nouveaux mots de passe diffèrent", "passwords differ")
        service.change_password(session, actor=p.actor, user=p.user, current=current_password,
                                new=new_password)
    except DomainError as exc:
        tokens = service.list_tokens(session, user=p.user)
        return render(request, "accounts/account.html",
                      {"tokens": tokens, "password_error": exc.fr}, principal=p, ws=ws,
                      status_code=exc.status)
    # change_password ended every session of the user: open a fresh one for this browser.
    new_ws, raw = service.new_web_session(session)
    new_ws.user_id, new_ws.stage = p.user.id, "authenticated"
    response = RedirectResponse("/account?password=ok", status_code=303)
    set_session_cookie(request, response, raw)
    return response


@router.get("/account/totp")
def totp_form(request: Request, p: PagePrincipal, session: SessionDep,
              ws: WebSessionDep) -> Response:
    # Nothing is stored yet: merely opening this page must not switch off the second
    # factor in use (a GET is reachable by a cross-site link).
    secret, sealed = service.seal_totp_setup(session, user=p.user)
    uri = service.totp_uri(session, p.user, secret)
    return render(request, "accounts/totp_setup.html",
                  {"secret": secret, "sealed": sealed, "qr": _qr_data_uri(uri),
                   "action": "/account/totp", "mandatory": False}, principal=p, ws=ws)


@router.post("/account/totp", dependencies=[Csrf])
def totp(request: Request, p: PagePrincipal, session: SessionDep, ws: WebSessionDep,
         code: Annotated[str, Form(max_length=20)],
         sealed: Annotated[str, Form(max_length=1000)] = "") -> Response:
    try:
        codes = service.confirm_totp(session, actor=p.actor, user=p.user, code=code,
                                     sealed=sealed)
    except DomainError as exc:
        secret = service.unseal_totp_setup(session, user=p.user, sealed=sealed)
        if secret is None:
            return RedirectResponse("/account/totp", status_code=303)
        uri = service.totp_uri(session, p.user, secret)
        return render(request, "accounts/totp_setup.html",
                      {"error": exc.fr, "secret": secret, "sealed": sealed,
                       "qr": _qr_data_uri(uri), "action": "/account/totp",
                       "mandatory": False}, principal=p, ws=ws, status_code=exc.status)
    return render(request, "accounts/recovery_codes.html", {"codes": codes}, principal=p, ws=ws)


@router.post("/account/tokens", dependencies=[Csrf])
def new_token(request: Request, p: PagePrincipal, session: SessionDep, ws: WebSessionDep,
              name: Annotated[str, Form(max_length=100)] = "api",
              write: Annotated[bool, Form()] = False) -> Response:
    scopes = ["read", "write"] if write else ["read"]
    _, raw = service.create_token(session, actor=p.actor, user=p.user, name=name or "api",
                                  scopes=scopes)
    tokens = service.list_tokens(session, user=p.user)
    return render(request, "accounts/account.html", {"tokens": tokens, "new_token": raw},
                  principal=p, ws=ws)


@router.post("/account/tokens/{token_id}/revoke", dependencies=[Csrf])
def revoke(token_id: int, p: PagePrincipal, session: SessionDep) -> Response:
    service.revoke_token(session, actor=p.actor, user=p.user, token_id=token_id)
    return RedirectResponse("/account", status_code=303)


