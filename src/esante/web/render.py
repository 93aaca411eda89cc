"""Rendering pages: the shared context (user, scope, CSRF token, unread count)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.responses import Response

from esante.core.accounts.models import WebSession
from esante.core.accounts.service import ROLE_LABELS_FR
from esante.core.notifications import service as notifications
from esante.core.policy import Principal
from esante.web.deps import SESSION_COOKIE


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    principal: Principal | None = None,
    ws: WebSession | None = None,
    status_code: int = 200,
) -> Response:
    ctx: dict[str, Any] = {
        "principal": principal,
        "csrf_token": ws.csrf_token if ws else "",
        "role_labels": ROLE_LABELS_FR,
        "unread": 0,
        "header_scope": scope_label(principal),
    }
    if principal is not None and request.state.db is not None:
        ctx["unread"] = notifications.unread_count(request.state.db, user=principal.user)
    ctx.update(context or {})
    return request.app.state.templates.TemplateResponse(
        request, template, ctx, status_code=status_code)


def set_session_cookie(request: Request, response: Response, raw: str) -> None:
    settings = request.app.state.settings
    response.set_cookie(SESSION_COOKIE, raw, httponly=True, secure=settings.cookie_secure,
                        samesite="lax", path="/", max_age=settings.session_minutes * 60)


def scope_label(principal: Principal | None) -> str:
    if principal is None:
        return ""
    parts = []
    for g in principal.grants:
        where = {"nation": "national", "self": "personnel"}.get(g.scope_kind, g.scope_ref)
        parts.append(f"{ROLE_LABELS_FR.get(g.role, g.role)} ({where})")
    return " · ".join(parts)
