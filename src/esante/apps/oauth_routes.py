"""The authorisation server's HTTP side: the authorisation endpoint and its French consent
screen, the token, revocation and introspection endpoints, and the discovery documents
(SMART configuration, OpenID Connect, JWKS)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from authlib.oauth2 import OAuth2Error
from fastapi import APIRouter, Depends, Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from esante.apps import keys, limits, service
from esante.apps import scopes as smart
from esante.apps.models import PendingAuthorization
from esante.apps.oauth import EsanteServer, Owner, RawRequest, unverified_claims
from esante.core.db import utcnow
from esante.core.errors import TooManyRequests
from esante.web.deps import OptionalPagePrincipal, SessionDep, WebSessionDep, client_ip
from esante.web.middleware import CSP
from esante.web.render import render

router = APIRouter(include_in_schema=False)
MAX_FORM = 40  # fields


def issuer(request: Request) -> str:
    """The configured public base URL (``ESANTE_BASE_URL``), never the request's Host
    header: tokens and discovery documents name the same issuer whatever the client sent."""
    return str(request.app.state.settings.base_url).rstrip("/")


def _server(request: Request, session: SessionDep) -> EsanteServer:
    return EsanteServer(session, base_url=issuer(request))


async def _raw(request: Request) -> RawRequest:
    form: dict[str, str] = {}
    if request.method == "POST":
        data = await request.form(max_fields=MAX_FORM)
        form = {k: v for k, v in data.items() if isinstance(v, str)}
    return RawRequest(method=request.method, url=str(request.url),
                      headers=dict(request.headers), query=dict(request.query_params), form=form)


def _claimed_client(raw: RawRequest) -> str | None:
    """The client the call names (unverified: it only counts once the call succeeded)."""
    cid = raw.form.get("client_id") or raw.query.get("client_id") or ""
    if not cid and (assertion := raw.form.get("client_assertion")):
        try:
            cid = str(unverified_claims(assertion).get("sub") or "")
        except Exception:  # a malformed assertion: authlib answers it
            cid = ""
    return cid[:64] or None


def _admit(request: Request, endpoint: str, raw: RawRequest) -> int | TooManyRequests:
    """The call's id in the rate-limit log, or why it is refused (esante.apps.limits)."""
    try:
        return limits.admit(request.app.state.session_factory, request.app.state.settings,
                            endpoint=endpoint, ip=client_ip(request),
                            client_id=_claimed_client(raw))
    except TooManyRequests as refused:
        return refused


async def _authorize_call(request: Request) -> int | TooManyRequests:
    """Admits an /oauth/authorize call. A dependency listed first in the routes: its own
    transaction commits before the sign-in dependencies touch the request's session (on
    SQLite, the request's pending write would hold the lock it waits for)."""
    return _admit(request, "authorize", await _raw(request))


AuthorizeCall = Annotated[int | TooManyRequests, Depends(_authorize_call)]


def _too_many(refused: TooManyRequests) -> Response:
    """429 in the OAuth error format (RFC 6749 §5.2 body, Retry-After)."""
    return JSONResponse({"error": "temporarily_unavailable", "error_description": refused.en},
                        status_code=429, headers={"Retry-After": str(limits.RETRY_AFTER),
                                                  "Cache-Control": "no-store"})


def _too_many_page(request: Request, refused: TooManyRequests, ws: Any, p: Any) -> Response:
    response = _error_page(request, 429, refused.fr, ws, p)
    response.headers["Retry-After"] = str(limits.RETRY_AFTER)
    return response


def _counted(session: SessionDep, call: int, raw: RawRequest, response: Response) -> Response:
    if response.status_code < 400:
        limits.succeeded(session, call, _claimed_client(raw))
    return response


def _error_page(request: Request, status: int, message: str, ws: Any = None,
                principal: Any = None) -> Response:
    return render(request, "apps/oauth_error.html", {"status": status, "message": message},
                  principal=principal, ws=ws, status_code=status)


ERRORS_FR = {
    "invalid_client": "application inconnue, non référencée ou suspendue",
    "invalid_request": "demande d'autorisation incomplète ou invalide",
    "invalid_scope": "l'application demande des données qu'elle n'a pas déclarées",
    "unauthorized_client": "cette application ne peut pas utiliser ce mode d'autorisation",
    "unsupported_response_type": "type de réponse non pris en charge",
}


def _oauth_error(request: Request, server: EsanteServer, error: OAuth2Error, ws: Any,
                 principal: Any) -> Response:
    """Errors the client may hear go back to its (verified) redirect URI; the others
    are explained to the person, in French, and go nowhere."""
    if getattr(error, "redirect_uri", None):
        return server.handle_error_response(None, error)
    fr = ERRORS_FR.get(error.error, "demande d'autorisation refusée")
    return _error_page(request, 400, f"{fr} ({error.error}"
                       f"{' : ' + error.description if error.description else ''})", ws, principal)


def _check_aud(request: Request, raw: RawRequest) -> str | None:
    aud = raw.query.get("aud") or raw.form.get("aud")
    if aud is not None and aud.rstrip("/") != issuer(request) + "/fhir":
        return "le paramètre aud ne désigne pas ce serveur FHIR"
    return None


# --- authorisation endpoint ------------------------------------------------------------------

@dataclass(frozen=True)
class _Asked:
    """An authorisation request the server accepted: what the app asks for."""

    server: EsanteServer
    grant: Any
    wanted: list[str]  # the scopes
    needs_patient: bool  # a patient's record must be chosen (or is the launch's)


def _asked(request: Request, session: SessionDep, ws: Any, p: Any,
           raw: RawRequest) -> _Asked | Response:
    """The request checked by the server (audience, client, redirect, scopes), or the page
    that says why it is refused — the same for showing the consent screen and answering it."""
    server = _server(request, session)
    if (problem := _check_aud(request, raw)) is not None:
        return _error_page(request, 400, problem, ws, p)
    try:
        grant = server.get_consent_grant(raw, end_user=Owner(p.user))
    except OAuth2Error as error:
        return _oauth_error(request, server, error, ws, p)
    wanted = smart.split(grant.request.payload.scope)
    needs_patient = "launch/patient" in wanted or any(
        r.context == "patient" for r in smart.resource_scopes(wanted))
    return _Asked(server, grant, wanted, needs_patient)


@router.get("/oauth/authorize")
@router.post("/oauth/authorize")
async def authorize(call: AuthorizeCall, request: Request, session: SessionDep,
                    ws: WebSessionDep, p: OptionalPagePrincipal) -> Response:
    """GET shows the consent screen (after sign-in); POST is the citizen's answer."""
    raw = await _raw(request)
    if isinstance(call, TooManyRequests):
        return _too_many_page(request, call, ws, p)
    step = _consent if request.method == "POST" else _authorize
    return _counted(session, call, raw, step(request, session, ws, p, raw))


def _authorize(request: Request, session: SessionDep, ws: Any, p: Any,
               raw: RawRequest) -> Response:
    if p is None:  # sign in first, then come back to this very request
        pending = PendingAuthorization(id=secrets.token_urlsafe(16),
                                       query=urlencode(raw.query)[:8000],
                                       expires_at=utcnow() + timedelta(minutes=15))
        session.add(pending)
        session.flush()
        return RedirectResponse(f"/login?next=/oauth/reprise/{pending.id}", status_code=303)
    asked = _asked(request, session, ws, p, raw)
    if isinstance(asked, Response):
        return asked
    grant, wanted, needs_patient = asked.grant, asked.wanted, asked.needs_patient
    client = grant.client
    if raw.query.get("launch"):  # EHR launch: the patient is the launch's
        ctx = _launch(session, p, client.app, raw.query["launch"], wanted)
        if isinstance(ctx, str):
            return _error_page(request, 400, ctx, ws, p)
        patients = [ctx.patient_fid]
    else:
        patients = service.patients_of(session, p.user) if needs_patient else []
    if needs_patient and not patients:
        return _error_page(request, 400, "aucun dossier de santé n'est rattaché à votre compte : "
                           "l'application demande l'accès à votre dossier", ws, p)
    reasons = {s["scope"]: s.get("reason", "") for s in client.app.scopes}
    response = render(request, "apps/consent.html", {
        "app": client.app, "query": raw.query, "patients": patients,
        "lines": [(smart.describe_fr(s), reasons.get(s, "")) for s in wanted],
    }, principal=p, ws=ws)
    # The answer redirects to the app: browsers hold form submissions' redirects to
    # form-action, so the consent page allows the app's (registered, verified) origin.
    target = urlsplit(grant.redirect_uri or client.get_default_redirect_uri() or "")
    if target.scheme == "https" and target.netloc:
        response.headers["Content-Security-Policy"] = CSP.replace(
            "form-action 'self'", f"form-action 'self' https://{target.netloc}")
    return response


def _launch(session: SessionDep, p: Any, app: Any, launch_id: str, wanted: list[str]) -> Any:
    """The EHR launch named by ``launch``, or why it cannot be used."""
    if "launch" not in wanted:
        return "le paramètre launch exige la portée « launch »"
    ctx = service.launch_context(session, p, app, launch_id)
    if ctx is None:
        return "lancement inconnu ou expiré : relancez l'application depuis le dossier"
    return ctx


@router.get("/oauth/reprise/{pending_id}")
def resume(pending_id: str, session: SessionDep) -> Response:
    pending = session.get(PendingAuthorization, pending_id[:32])
    if pending is None or pending.expires_at <= utcnow():
        return RedirectResponse("/", status_code=303)
    query = pending.query
    session.delete(pending)
    return RedirectResponse(f"/oauth/authorize?{query}", status_code=303)


def _consent(request: Request, session: SessionDep, ws: Any, p: Any,
             raw: RawRequest) -> Response:
    if p is None or ws is None or not secrets.compare_digest(
            ws.csrf_token, raw.form.get("csrf_token", "")):
        return _error_page(request, 403, "formulaire expiré ou invalide : recommencez depuis "
                           "l'application", ws, p)
    decision = raw.form.pop("decision", "")
    patient = raw.form.pop("patient", "") or None
    raw.form.pop("csrf_token", None)
    raw.query, raw.form = dict(raw.form), {}
    asked = _asked(request, session, ws, p, raw)
    if isinstance(asked, Response):
        return asked
    server, grant, wanted, needs_patient = (asked.server, asked.grant, asked.wanted,
                                            asked.needs_patient)
    if decision != "allow":
        return server.create_authorization_response(raw, grant_user=None, grant=grant)
    launched = bool(raw.query.get("launch"))
    if launched:
        ctx = _launch(session, p, grant.client.app, raw.query["launch"], wanted)
        if isinstance(ctx, str):
            return _error_page(request, 400, ctx, ws, p)
        mine, needs_patient, patient = [ctx.patient_fid], True, ctx.patient_fid
    else:
        mine = service.patients_of(session, p.user)
    if needs_patient:
        patient = patient if patient in mine else (mine[0] if len(mine) == 1 else None)
        if patient is None:
            return _error_page(request, 400, "choisissez le dossier à partager", ws, p)
    app_grant = service.record_consent(session, p, grant.client.app, " ".join(wanted),
                                       patient if needs_patient else None, launched=launched)
    return server.create_authorization_response(
        raw, grant_user=Owner(p.user, app_grant), grant=grant)


# --- token, revocation, introspection --------------------------------------------------------

@router.post("/oauth/token")
async def token(request: Request, session: SessionDep) -> Response:
    raw = await _raw(request)
    call = _admit(request, "token", raw)
    if isinstance(call, TooManyRequests):
        return _too_many(call)
    server = _server(request, session)
    response: Response = server.create_token_response(raw)
    if server.keep_changes:
        request.state.commit_anyway = True  # a replayed code or refresh token: keep the revocation
    return _counted(session, call, raw, response)


@router.post("/oauth/revoke")
async def revoke(request: Request, session: SessionDep) -> Response:
    raw = await _raw(request)
    call = _admit(request, "revoke", raw)
    if isinstance(call, TooManyRequests):
        return _too_many(call)
    server = _server(request, session)
    return _counted(session, call, raw, server.create_endpoint_response("revocation", raw))


@router.post("/oauth/introspect")
async def introspect(request: Request, session: SessionDep) -> Response:
    raw = await _raw(request)
    call = _admit(request, "introspect", raw)
    if isinstance(call, TooManyRequests):
        return _too_many(call)
    server = _server(request, session)
    return _counted(session, call, raw, server.create_endpoint_response("introspection", raw))


# --- discovery -------------------------------------------------------------------------------

SCOPES_SUPPORTED = ["openid", "fhirUser", "profile", "launch/patient", "offline_access",
                    "online_access", "patient/*.rs", "patient/*.cruds", "user/*.rs",
                    "user/*.cruds", "system/*.rs"]


def smart_configuration(base: str) -> dict[str, Any]:
    return {
        "issuer": base,
        "jwks_uri": f"{base}/oauth/jwks",
        "authorization_endpoint": f"{base}/oauth/authorize",
        "token_endpoint": f"{base}/oauth/token",
        "revocation_endpoint": f"{base}/oauth/revoke",
        "introspection_endpoint": f"{base}/oauth/introspect",
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "token_endpoint_auth_methods_supported": ["none", "private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384", "RS256"],
        "scopes_supported": SCOPES_SUPPORTED,
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "capabilities": ["launch-ehr", "context-ehr-patient",
                         "launch-standalone", "client-public", "client-confidential-asymmetric",
                         "context-standalone-patient", "permission-patient", "permission-user",
                         "permission-offline", "permission-online", "permission-v2",
                         "permission-v1", "sso-openid-connect"],
    }


@router.get("/.well-known/smart-configuration")
def well_known_smart(request: Request) -> JSONResponse:
    return JSONResponse(smart_configuration(issuer(request)))


@router.get("/.well-known/openid-configuration")
def well_known_openid(request: Request) -> JSONResponse:
    base = issuer(request)
    conf = smart_configuration(base)
    conf.update({"subject_types_supported": ["public"],
                 "id_token_signing_alg_values_supported": [keys.ALG],
                 "claims_supported": ["sub", "fhirUser", "name", "iss", "aud", "exp", "iat"]})
    return JSONResponse(conf)


@router.get("/oauth/jwks")
def jwks(session: SessionDep) -> JSONResponse:
    return JSONResponse(keys.jwks(session), headers={"Cache-Control": "max-age=300"})
