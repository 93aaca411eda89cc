"""Pages of indicator sharing (French, DSFR): the events one sees (TLP applied), search,
exports, an event with its indicators and sightings, the sharing form and the import."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from pydantic import ValidationError
from sqlalchemy import select
from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response

from esante.core import policy
from esante.core.accounts.models import Role, ScopeKind
from esante.core.errors import DomainError, Forbidden, Invalid
from esante.core.orgs.models import Establishment
from esante.core.policy import Principal
from esante.cyber.indicators import service, transfer
from esante.cyber.indicators.api import MAX_IMPORT_BYTES, sharing_of
from esante.cyber.indicators.models import Indicator
from esante.cyber.indicators.observables import KIND_LABELS
from esante.cyber.indicators.schemas import EventIn, SightingIn
from esante.cyber.indicators.warninglists import LABELS as WARNING_LABELS
from esante.web.deps import Csrf, PagePrincipal, SessionDep, WebSessionDep
from esante.web.render import render

router = APIRouter(include_in_schema=False)
BASE = "/cyber/indicateurs"
LABELS = {"tlp_labels": service.TLP_LABELS, "pap_labels": service.PAP_LABELS,
          "scope_labels": service.SCOPE_LABELS, "kind_labels": KIND_LABELS,
          "warning_labels": WARNING_LABELS}


def _sources(session: SessionDep, p: Principal) -> list[tuple[str, str]]:
    """Who the viewer may share as: (finess or "", label)."""
    out = [("", service.CELL_LABEL)] if p.has_role(Role.CYBER_ANALYST) else []
    finesses = sorted({g.scope_ref for g in p.grants_for(Role.SECURITY_OFFICER)
                       if g.scope_kind == ScopeKind.ESTABLISHMENT})
    if finesses:
        for e in session.scalars(select(Establishment).where(Establishment.finess.in_(finesses))):
            out.append((e.finess, f"{e.name} ({e.finess})"))
    return out


@router.get(BASE)
def board(request: Request, p: PagePrincipal, session: SessionDep, ws: WebSessionDep,
          q: str = Query(default="", max_length=200),
          valeur: str = Query(default="", max_length=2048),
          tlp: str = Query(default="", max_length=12)) -> Response:
    total, rows = service.list_events(session, p, q=q, tlp=tlp if tlp in service.TLP_LABELS
                                      else None, limit=200)
    hits = service.search(session, p, valeur) if valeur.strip() else []
    return render(request, "cyber/indicators/board.html", {
        "rows": rows, "total": total, "q": q, "valeur": valeur, "tlp": tlp, "hits": hits,
        "counts": {e.id: service.indicator_count(session, e) for e in rows},
        "can_publish": bool(_sources(session, p)), **LABELS}, principal=p, ws=ws)


@router.get(f"{BASE}/export")
def export(p: PagePrincipal, session: SessionDep,
           format: str = Query(default="stix", pattern="^(stix|misp|csv)$"),
           evenement: int | None = Query(default=None, ge=1)) -> Response:
    body = transfer.export(session, p, format, event_id=evenement)
    ext = "csv" if format == "csv" else "json"
    return Response(body, media_type=transfer.FORMATS[format], headers={
        "Content-Disposition": f'attachment; filename="indicateurs-{format}.{ext}"'})


def _form(request: Request, p: Principal, session: SessionDep, ws: WebSessionDep, *,
          error: str = "", values: dict[str, str] | None = None, status_code: int = 200,
          template: str = "cyber/indicators/form.html") -> Response:
    sources = _sources(session, p)
    if not sources:
        raise Forbidden("seuls le RSSI d'un établissement et la cellule nationale partagent "
                        "des indicateurs", "only security officers and the cell share")
    return render(request, template, {"sources": sources, "error": error,
                                      "values": values or {}, **LABELS},
                  principal=p, ws=ws, status_code=status_code)


@router.get(f"{BASE}/nouveau")
def new_event(request: Request, p: PagePrincipal, session: SessionDep,
              ws: WebSessionDep) -> Response:
    return _form(request, p, session, ws)


FIELDS = ("source_finess", "title", "description", "tlp", "pap", "scope", "scope_region",
          "recipients", "indicators", "expires_at")


def _event_in(values: dict[str, str]) -> EventIn:
    lines = [x.strip() for x in values["indicators"].splitlines() if x.strip()]
    raw: dict[str, object] = {k: values[k].strip() for k in FIELDS
                              if k not in ("indicators", "recipients") and values[k].strip()}
    raw["pap"] = raw.get("pap") or "amber"
    raw["recipients"] = [x.strip() for x in values["recipients"].replace(";", ",").split(",")
                         if x.strip()]
    raw["indicators"] = [{"value": x.split(None, 1)[0],
                          "comment": x.split(None, 1)[1] if " " in x else ""} for x in lines]
    try:
        return EventIn.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first.get("loc", ()))
        raise Invalid(f"formulaire invalide : {where} — {first.get('msg', '')}",
                      "invalid form") from None


@router.post(f"{BASE}/nouveau", dependencies=[Csrf])
async def create_event(request: Request, p: PagePrincipal, session: SessionDep,
                       ws: WebSessionDep) -> Response:
    form = await request.form()
    values = {k: str(form.get(k) or "")[:100_000] for k in FIELDS}
    try:
        ev = service.create_event(session, p, _event_in(values))
    except DomainError as exc:
        session.rollback()
        return _form(request, p, session, ws, error=exc.fr, values=values, status_code=422)
    return RedirectResponse(f"{BASE}/{ev.id}", status_code=303)


@router.get(f"{BASE}/import")
def import_page(request: Request, p: PagePrincipal, session: SessionDep,
                ws: WebSessionDep) -> Response:
    return _form(request, p, session, ws, template="cyber/indicators/import.html")


@router.post(f"{BASE}/import", dependencies=[Csrf])
async def import_post(request: Request, p: PagePrincipal, session: SessionDep,
                      ws: WebSessionDep) -> Response:
    form = await request.form()
    keys = ("format", "source_finess", "tlp", "scope", "scope_region", "recipients")
    values = {k: str(form.get(k) or "")[:4000] for k in keys}
    upload = form.get("file")
    try:
        if not isinstance(upload, UploadFile):
            raise Invalid("choisissez le fichier STIX ou MISP à importer", "no file")
        raw = await upload.read(MAX_IMPORT_BYTES + 1)
        if len(raw) > MAX_IMPORT_BYTES:
            raise Invalid("fichier trop volumineux (limite 10 Mio)", "file too large")
        sharing = sharing_of(**{k: values[k] for k in keys if k != "format"})
        events = transfer.import_file(session, p, values["format"], raw, sharing)
    except DomainError as exc:
        session.rollback()
        return _form(request, p, session, ws, error=exc.fr, values=values, status_code=422,
                     template="cyber/indicators/import.html")
    return RedirectResponse(f"{BASE}/{events[0].id}" if len(events) == 1 else BASE,
                            status_code=303)


@router.get(f"{BASE}/{{event_id}}")
def event_page(event_id: int, request: Request, p: PagePrincipal, session: SessionDep,
               ws: WebSessionDep) -> Response:
    ev = service.get_event(session, p, event_id)
    inds = service.indicators_of(session, ev)
    return render(request, "cyber/indicators/event.html", {
        "ev": ev, "inds": inds, "scope_label": service.ght_label(session, ev),
        "sightings": service.sighting_counts(session, [i.id for i in inds]),
        "can_manage": policy.can(p, "cyber.ioc.manage", ev) and ev.status == "published",
        "error": request.query_params.get("erreur", "")[:300], **LABELS},
        principal=p, ws=ws)


@router.post(f"{BASE}/{{event_id}}/action", dependencies=[Csrf])
async def event_action(event_id: int, request: Request, p: PagePrincipal,
                       session: SessionDep) -> Response:
    form = await request.form()
    action = str(form.get("action") or "")
    ev = service.get_event(session, p, event_id)
    try:
        if action in ("seen", "false_positive"):
            raw = str(form.get("indicator_id") or "")
            ind = session.get(Indicator, int(raw)) if raw.isdigit() else None
            if ind is None or ind.event_id != ev.id:
                raise Invalid("choisissez un indicateur de cet événement", "pick an indicator")
            service.add_sighting(session, p, ind.id, SightingIn(
                kind=action, note=str(form.get("note") or "")[:500]))  # type: ignore[arg-type]
        elif action == "withdraw":
            service.withdraw(session, p, ev)
        else:
            raise Invalid("action inconnue", "unknown action")
    except DomainError as exc:
        session.rollback()
        return RedirectResponse(f"{BASE}/{event_id}?erreur={quote(exc.fr[:300])}",
                                status_code=303)
    return RedirectResponse(f"{BASE}/{event_id}", status_code=303)
