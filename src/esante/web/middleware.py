"""ASGI middleware: one database transaction per request, security headers, body limit."""

from __future__ import annotations

import contextlib
import json
import logging
import re
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("esante.web")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


class TransactionMiddleware:
    """Commits the request's session before the answer leaves: a success answer means
    the write is durable. 4xx/5xx answers roll back, unless the route asked to keep what
    it wrote (a failed login's counter, for instance).

    Plain ASGI (not BaseHTTPMiddleware, which costs a task and a stream per request): the
    decision is taken when the response starts, before its first byte is sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state["db"] = None
        state["commit_anyway"] = False
        ended = False
        failed = False

        async def send_after_commit(message: Message) -> None:
            nonlocal ended, failed
            if message["type"] == "http.response.start" and not ended:
                ended = True
                ok = message["status"] < 400 or state.get("commit_anyway", False)
                try:
                    await _end(state, commit=ok)
                except Exception:
                    log.exception("commit failed")
                    failed = True
                    await _problem(500, *COMMIT_FAILED)(scope, receive, send)
                    return
            if not failed:
                await send(message)

        try:
            await self.app(scope, receive, send_after_commit)
        finally:
            if not ended:  # an exception before any answer: nothing is kept
                await _end(state, commit=False)


async def _end(state: dict[str, Any], *, commit: bool) -> None:
    db = state.get("db")
    if db is None:
        return
    state["db"] = None
    await run_in_threadpool(finish, db, commit)


COMMIT_FAILED = ("l'enregistrement a échoué, rien n'a été modifié",
                 "the write failed, nothing was changed")


def finish(db: Any, commit: bool) -> None:
    """Commit (or roll back) and close the request's session: called in one trip through
    the thread pool, or by a route that commits in its own trip (the FHIR routes)."""
    try:
        if commit:
            db.commit()
        else:
            db.rollback()
    finally:
        db.close()


def _problem(status: int, fr: str, en: str) -> Response:
    body = {"type": "about:blank", "title": en, "status": status, "detail": fr, "detail_en": en}
    return Response(json.dumps(body), status_code=status, media_type="application/problem+json")


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                extra: list[tuple[bytes, bytes]] = [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin"),
                    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                ]
                if self.hsts:
                    extra.append((b"strict-transport-security", b"max-age=63072000"))
                if scope["path"].startswith(("/api", "/login", "/account")):
                    extra.append((b"cache-control", b"no-store"))
                headers += [(k, v) for k, v in extra if k not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimitMiddleware:
    """Refuses bodies over the limit with 413, whether announced or streamed."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, upload_bytes: int | None = None,
                 upload_paths: tuple[str, ...] = ()) -> None:
        self.app = app
        self.body_bytes = max_bytes
        self.upload_bytes = upload_bytes or max_bytes
        self.upload_paths = [re.compile(p) for p in upload_paths]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        limit = self.upload_bytes if any(p.match(path) for p in self.upload_paths) \
            else self.body_bytes
        for key, value in scope.get("headers", []):
            if key == b"content-length" and value.isdigit() and int(value) > limit:
                await _too_large(limit)(scope, receive, send)
                return
        seen = 0
        exceeded = False

        async def counted() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    exceeded = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            # The framework may catch the error raised while reading the body and answer
            # 400 itself: once the limit is passed, its answer is dropped for ours.
            if not exceeded:
                await send(message)

        with contextlib.suppress(_BodyTooLarge):
            await self.app(scope, counted, guarded_send)
        if exceeded:
            await _too_large(limit)(scope, receive, send)


class _BodyTooLarge(Exception):
    pass


def _too_large(limit: int) -> Any:
    return _problem(413, f"requête trop volumineuse (limite : {limit} octets)",
                    f"request body too large (limit: {limit} bytes)")
