"""The FHIR REST API under /fhir (R4, JSON): capabilities, instance, type and system
interactions, Bundles, break-glass. Bearer tokens as for /api."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from esante.core.settings import get_settings
from esante.fhir.bundle import process_bundle
from esante.fhir.capability import capability_statement
from esante.fhir.outcome import FhirError, Issue, operation_outcome
from esante.fhir.service import Answer, Fhir
from esante.fhir.store import check_id, parse_etag
from esante.fhir.validation import parse_json
from esante.web.deps import ApiPrincipal, SessionDep, api_principal
from esante.web.middleware import COMMIT_FAILED, finish

router = APIRouter(prefix="/fhir", tags=["FHIR R4"])
log = logging.getLogger(__name__)
FHIR_JSON = "application/fhir+json"
JSON_TYPES = ("application/fhir+json", "application/json", "application/json-patch+json",
              "text/json")
XML_HINTS = ("xml",)


def fhir_response(status: int, body: dict[str, Any] | None,
                  headers: dict[str, str] | None = None) -> Response:
    content = b"" if body is None else json.dumps(body, ensure_ascii=False,
                                                  separators=(",", ":")).encode()
    return Response(content, status_code=status, media_type=FHIR_JSON if body else None,
                    headers=headers)


def negotiate(request: Request) -> None:
    """JSON only: ask for XML and get 406."""
    fmt = request.query_params.get("_format", "")
    accept = request.headers.get("accept", "")
    wants_xml = any(h in fmt for h in XML_HINTS) or (
        any(h in accept for h in XML_HINTS) and "json" not in accept and "*/*" not in accept)
    if wants_xml:
        raise FhirError(406, "seul le format JSON est servi (application/fhir+json)",
                        "only JSON is served (application/fhir+json)", code="not-supported")
    if fmt and "json" not in fmt:
        raise FhirError(406, f"_format non pris en charge : {fmt[:40]}",
                        f"unsupported _format: {fmt[:40]}", code="not-supported")


def body_json(request: Request, raw: bytes) -> Any:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype and ctype not in JSON_TYPES:
        raise FhirError(415, f"type de contenu non pris en charge : {ctype[:60]} "
                        "(application/fhir+json attendu)", f"unsupported content type: "
                        f"{ctype[:60]}", code="not-supported")
    return parse_json(raw)


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/fhir"


def answer(request: Request, a: Answer) -> Response:
    prefer = request.headers.get("prefer", "")
    body = a.resource
    if a.stored is not None and request.method in ("POST", "PUT", "PATCH"):
        if "return=minimal" in prefer:
            body = None
        elif "return=OperationOutcome" in prefer:
            body = operation_outcome([Issue("opération réussie", "operation succeeded",
                                            "informational", severity="information")])
    headers = dict(a.headers)
    if request.method == "GET":
        headers.pop("Location", None)
    return fhir_response(a.status, body, headers)


def _if_match(request: Request) -> int | None:
    value = request.headers.get("if-match")
    return parse_etag(value) if value else None


def _strict(request: Request) -> bool:
    return "handling=strict" in request.headers.get("prefer", "")


def _fhir(request: Request, session: SessionDep, p: ApiPrincipal) -> Fhir:
    negotiate(request)
    return Fhir(session, p, base=base_url(request))


@router.get("/metadata", summary="CapabilityStatement")
def metadata(request: Request) -> Response:
    negotiate(request)
    # The authorisation server's addresses are the configured issuer's, not the Host's.
    root = str(request.app.state.settings.base_url).rstrip("/")
    return fhir_response(200, capability_statement(root + "/fhir"))


@router.get("/.well-known/smart-configuration", summary="Configuration SMART on FHIR")
def smart_configuration(request: Request) -> Response:
    """The authorisation server's SMART document, also under the FHIR base (before the
    catch-alls below); the apps domain writes it."""
    from esante.apps.oauth_routes import well_known_smart

    return well_known_smart(request)


# --- Bulk Data $export (asynchronous), before the /{rtype} catch-alls ------------------------

def _kick_off(request: Request, session: SessionDep, p: ApiPrincipal, level: str,
              group_fid: str | None = None) -> Response:
    from esante.fhir import bulk

    negotiate(request)
    job = bulk.kick_off(session, p, level=level, group_fid=group_fid,
                        items=list(request.query_params.multi_items()),
                        prefer=request.headers.get("prefer", ""), request_url=str(request.url))
    job_id = job.id
    session.commit()  # the worker must find the job
    try:
        bulk.dispatch(job_id)
    except Exception:  # the queue is down: the worker's sweep runs queued jobs
        import logging

        logging.getLogger(__name__).exception("export %s not queued", job_id)
    return fhir_response(202, operation_outcome([Issue(
        "export accepté : suivre son état à l'adresse Content-Location",
        "export accepted: poll the Content-Location URL", "informational",
        severity="information")]),
        {"Content-Location": f"{base_url(request)}/$export-status/{job_id}"})


@router.get("/$export", summary="Export Bulk Data de tout l'entrepôt (administrateurs)")
def export_system(request: Request, session: SessionDep, p: ApiPrincipal) -> Response:
    return _kick_off(request, session, p, "system")


@router.get("/Patient/$export", summary="Export Bulk Data des patients accessibles")
def export_patients(request: Request, session: SessionDep, p: ApiPrincipal) -> Response:
    return _kick_off(request, session, p, "patient")


@router.get("/Group/{gid}/$export", summary="Export Bulk Data des membres d'un groupe")
def export_group(gid: str, request: Request, session: SessionDep, p: ApiPrincipal) -> Response:
    return _kick_off(request, session, p, "group", check_id(gid))


@router.get("/$export-status/{job_id}", summary="État d'un export (202 en cours, 200 manifeste)")
def export_status(job_id: str, request: Request, session: SessionDep,
                  p: ApiPrincipal) -> Response:
    from esante.fhir import bulk

    job = bulk.owned_job(session, p, job_id)
    if job.status in ("queued", "running"):
        return Response(status_code=202, headers={"X-Progress": job.progress[:100] or job.status,
                                                  "Retry-After": "2"})
    if job.status == "failed":
        raise FhirError(500, f"l'export a échoué : {job.error}", "the export failed",
                        code="exception")
    body = json.dumps(bulk.manifest(job, base_url(request)), ensure_ascii=False).encode()
    return Response(body, status_code=200, media_type="application/json",
                    headers={"Expires": job.expires_at.strftime("%a, %d %b %Y %H:%M:%S GMT")})


@router.delete("/$export-status/{job_id}", summary="Annule un export et efface ses fichiers")
def export_cancel(job_id: str, session: SessionDep, p: ApiPrincipal) -> Response:
    from esante.fhir import bulk

    bulk.cancel(session, p, job_id)
    return Response(status_code=202)


@router.get("/$export-file/{job_id}/{name}", summary="Fichier NDJSON d'un export")
def export_file(job_id: str, name: str, session: SessionDep, p: ApiPrincipal) -> Response:
    from esante.fhir import bulk

    return Response(bulk.read_file(session, p, job_id, name), media_type=bulk.NDJSON)


# --- interactions ---------------------------------------------------------------------------
# Each route does its blocking work (authentication, access rules, store, audit) in one trip
# through the thread pool: FastAPI would otherwise send each synchronous dependency there
# separately, and an ``async`` route calling the store would block the event loop.

async def _run(request: Request, session: Session, work: Callable[[Fhir], Response]) -> Response:
    def in_thread() -> Response:
        response = work(_fhir(request, session, api_principal(request, session)))
        if response.status_code < 400:
            # Committed here, before the answer leaves, in the same trip (the transaction
            # middleware finds nothing left to do); errors raise and roll back there.
            request.state.db = None
            try:
                finish(session, commit=True)
            except Exception:
                log.exception("FHIR commit failed")
                raise FhirError(500, *COMMIT_FAILED, code="exception") from None
        return response

    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_executor(), in_thread)


@lru_cache(maxsize=1)
def _executor() -> ThreadPoolExecutor:
    # A plain executor: anyio's thread dispatch (capacity limiter, cancel scopes) costs the
    # event loop more than the request's own work on the hot FHIR paths.
    return ThreadPoolExecutor(max_workers=get_settings().web_threads,
                              thread_name_prefix="fhir")


@router.post("", summary="Bundle batch / transaction")
async def bundle(request: Request, session: SessionDep) -> Response:
    raw = await request.body()
    return await _run(request, session, lambda fhir: fhir_response(
        200, process_bundle(fhir, body_json(request, raw))))


@router.get("/_history", summary="Historique système (ce que l'on peut lire)")
async def system_history(request: Request, session: SessionDep) -> Response:
    return await _run(request, session, lambda fhir: answer(
        request, fhir.history(None, None, **_paging(request))))


@router.post("/Patient/{fid}/$break-glass", summary="Accès d'urgence justifié (bris de glace)")
async def break_glass(fid: str, request: Request, session: SessionDep) -> Response:
    raw = await request.body()

    def work(fhir: Fhir) -> Response:
        data = body_json(request, raw)
        reason = ""
        if isinstance(data, dict) and data.get("resourceType") == "Parameters":
            for prm in data.get("parameter", []):
                if prm.get("name") == "reason":
                    reason = str(prm.get("valueString", ""))
        return fhir_response(200, fhir.break_glass(check_id(fid), reason[:500]).resource)

    return await _run(request, session, work)


@router.get("/{rtype}", summary="Recherche")
async def search(rtype: str, request: Request, session: SessionDep) -> Response:
    items = list(request.query_params.multi_items())
    return await _run(request, session, lambda fhir: answer(
        request, fhir.search(rtype, items, strict=_strict(request))))


@router.post("/{rtype}/_search", summary="Recherche (formulaire)")
async def search_post(rtype: str, request: Request, session: SessionDep) -> Response:
    form = await request.form()
    items = [(k, str(v)) for k, v in form.multi_items()]
    items += list(request.query_params.multi_items())
    return await _run(request, session, lambda fhir: answer(
        request, fhir.search(rtype, items, strict=_strict(request))))


@router.post("/{rtype}", summary="Création (If-None-Exist pour une création conditionnelle)")
async def create(rtype: str, request: Request, session: SessionDep) -> Response:
    raw = await request.body()
    return await _run(request, session, lambda fhir: answer(request, fhir.create(
        body_json(request, raw), rtype=rtype, if_none_exist=request.headers.get("if-none-exist"))))


@router.get("/{rtype}/_history", summary="Historique d'un type")
async def type_history(rtype: str, request: Request, session: SessionDep) -> Response:
    return await _run(request, session, lambda fhir: answer(
        request, fhir.history(rtype, None, **_paging(request))))


@router.get("/{rtype}/{fid}", summary="Lecture")
async def read(rtype: str, fid: str, request: Request, session: SessionDep) -> Response:
    def work(fhir: Fhir) -> Response:
        a = fhir.read(rtype, check_id(fid))
        if request.headers.get("if-none-match") == a.headers.get("ETag"):
            return Response(status_code=304, headers={"ETag": a.headers["ETag"]})
        return answer(request, a)

    return await _run(request, session, work)


@router.put("/{rtype}/{fid}", summary="Mise à jour (If-Match pour le verrou optimiste)")
async def update(rtype: str, fid: str, request: Request, session: SessionDep) -> Response:
    raw = await request.body()
    return await _run(request, session, lambda fhir: answer(request, fhir.update(
        rtype, check_id(fid), body_json(request, raw), if_match=_if_match(request))))


@router.patch("/{rtype}/{fid}", summary="Modification (JSON Patch)")
async def patch(rtype: str, fid: str, request: Request, session: SessionDep) -> Response:
    raw = await request.body()

    def work(fhir: Fhir) -> Response:
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/json-patch+json":
            raise FhirError(415, "PATCH attend application/json-patch+json",
                            "PATCH expects application/json-patch+json", code="not-supported")
        return answer(request, fhir.patch(rtype, check_id(fid), parse_json(raw),
                                          if_match=_if_match(request)))

    return await _run(request, session, work)


@router.delete("/{rtype}/{fid}", summary="Suppression (conservée dans l'historique)")
async def delete(rtype: str, fid: str, request: Request, session: SessionDep) -> Response:
    def work(fhir: Fhir) -> Response:
        fhir.delete(rtype, check_id(fid))
        return Response(status_code=204)

    return await _run(request, session, work)


@router.get("/{rtype}/{fid}/_history", summary="Historique d'une ressource")
async def instance_history(rtype: str, fid: str, request: Request,
                           session: SessionDep) -> Response:
    return await _run(request, session, lambda fhir: answer(
        request, fhir.history(rtype, check_id(fid), **_paging(request))))


@router.get("/{rtype}/{fid}/_history/{vid}", summary="Lecture d'une version")
async def vread(rtype: str, fid: str, vid: str, request: Request,
                session: SessionDep) -> Response:
    def work(fhir: Fhir) -> Response:
        if not vid.isdigit():
            raise FhirError(400, f"numéro de version invalide : {vid[:20]}",
                            f"invalid version: {vid[:20]}", code="value")
        return answer(request, fhir.vread(rtype, check_id(fid), int(vid)))

    return await _run(request, session, work)


def _paging(request: Request) -> dict[str, int]:
    out = {}
    for key in ("_count", "_offset"):
        value = request.query_params.get(key)
        if value is not None:
            if not value.isdigit():
                raise FhirError(400, f"{key} attend un entier positif", f"{key} expects an integer",
                                code="value")
            out[key[1:]] = int(value)
    return out
