"""Domain errors and validation errors, turned into answers in one place:
problem+json (RFC 9457) under /api, a French page elsewhere."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, RedirectResponse, Response

from esante.core.errors import DomainError, Unauthenticated
from esante.fhir.outcome import Issue, from_domain_error, operation_outcome


class LoginRequired(Exception):
    """A page needs a logged-in user: redirect to the login page."""


def problem(status: int, *, code: str, fr: str, en: str, **extra: Any) -> JSONResponse:
    body = {"type": f"https://esante.localhost/problems/{code}", "title": en, "status": status,
            "detail": fr, "detail_en": en, "code": code, **extra}
    headers = {"WWW-Authenticate": 'Bearer realm="esante"'} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type="application/problem+json",
                        headers=headers)


def _is_fhir(request: Request) -> bool:
    return request.url.path == "/fhir" or request.url.path.startswith("/fhir/")


def _outcome(status: int, body: dict[str, Any]) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Bearer realm="esante"'} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type="application/fhir+json",
                        headers=headers)


def _wants_page(request: Request) -> bool:
    path = request.url.path
    return not (path.startswith("/api") or path.startswith("/fhir") or path == "/health")


def _page(request: Request, status: int, fr: str) -> Response:
    templates = request.app.state.templates
    return templates.TemplateResponse(request, "error.html",
                                      {"status": status, "message": fr}, status_code=status)


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        if _is_fhir(request):
            return _outcome(*from_domain_error(exc))
        if _wants_page(request):
            if isinstance(exc, Unauthenticated):
                return RedirectResponse("/login", status_code=303)
            return _page(request, exc.status, exc.fr)
        return problem(exc.status, code=exc.code, fr=exc.fr, en=exc.en,
                       **{k: v for k, v in exc.extra.items() if isinstance(v, str | int)})

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, _exc: LoginRequired) -> Response:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        if _is_fhir(request):
            first = exc.errors()[0] if exc.errors() else {}
            where = ".".join(str(p) for p in first.get("loc", ()))
            return _outcome(400, operation_outcome([Issue(
                f"requête invalide : {where} — {_french(first)}",
                f"invalid request: {where} {first.get('msg', '')}", "invalid")]))
        errors = [
            {"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"),
             "message": _french(e), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"field": "", "message": "requête invalide"}
        fr = f"requête invalide : {first['field']} — {first['message']}".replace(" :  — ", " : ")
        if _wants_page(request):
            return _page(request, 422, fr)
        return problem(422, code="validation", fr=fr, en="request validation failed",
                       errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _is_fhir(request):
            fr = {404: "ressource ou opération inconnue", 405: "méthode non autorisée"}.get(
                exc.status_code, str(exc.detail))
            return _outcome(exc.status_code, operation_outcome([Issue(
                fr, str(exc.detail), "not-supported" if exc.status_code in (404, 405)
                else "exception")]))
        fr = {404: "page introuvable", 405: "méthode non autorisée"}.get(exc.status_code,
                                                                         str(exc.detail))
        if _wants_page(request):
            return _page(request, exc.status_code, fr)
        return problem(exc.status_code, code=f"http-{exc.status_code}", fr=fr,
                       en=str(exc.detail))


_FR = {
    "missing": "champ obligatoire",
    "extra_forbidden": "champ inconnu",
    "json_invalid": "JSON mal formé",
    "string_too_long": "texte trop long",
    "string_too_short": "texte trop court",
    "int_parsing": "nombre entier attendu",
    "bool_parsing": "booléen attendu",
    "model_attributes_type": "objet JSON attendu",
    "dict_type": "objet JSON attendu",
    "list_type": "liste attendue",
    "string_type": "texte attendu",
    "literal_error": "valeur non autorisée",
    "enum": "valeur non autorisée",
}


def _french(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    if kind == "value_error":
        return str(error.get("msg", "")).removeprefix("Value error, ")
    return _FR.get(kind, str(error.get("msg", "valeur invalide")))
