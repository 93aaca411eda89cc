"""JSON routes of indicator sharing (``/api/cyber/indicators``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile, status
from sqlalchemy.orm import Session
from starlette.responses import Response

from esante.core import policy
from esante.core.errors import Invalid
from esante.cyber.indicators import service, transfer
from esante.cyber.indicators.access import audience_of
from esante.cyber.indicators.models import Indicator, IocEvent
from esante.cyber.indicators.schemas import (
    EventDetailOut,
    EventIn,
    EventOut,
    IndicatorOut,
    IndicatorsIn,
    SearchHit,
    Sharing,
    SightingIn,
    Tlp,
)
from esante.web.deps import ApiPrincipal, SessionDep

router = APIRouter(prefix="/cyber/indicators", tags=["cybervigilance : indicateurs (TLP)"])
MAX_IMPORT_BYTES = 10 * 1_048_576


def event_out(session: Session, ev: IocEvent) -> EventOut:
    return EventOut(id=ev.id, uuid=ev.uuid, title=ev.title, description=ev.description,
                    tlp=ev.tlp, pap=ev.pap, scope=ev.scope,
                    scope_label=service.ght_label(session, ev), source=ev.source_label,
                    status=ev.status, created_at=ev.created_at, expires_at=ev.expires_at,
                    indicator_count=service.indicator_count(session, ev))


def indicators_out(session: Session, inds: list[Indicator]) -> list[IndicatorOut]:
    sightings = service.sighting_counts(session, [i.id for i in inds])
    return [IndicatorOut(id=i.id, uuid=i.uuid, kind=i.kind, value=i.value, comment=i.comment,
                         warning=i.warning, expires_at=i.expires_at, **sightings[i.id])
            for i in inds]


def detail_out(session: Session, ev: IocEvent) -> EventDetailOut:
    return EventDetailOut(**event_out(session, ev).model_dump(),
                          indicators=indicators_out(session, service.indicators_of(session, ev)))


@router.get("/events", summary="Événements partagés visibles (TLP appliqué)")
def list_events(
    p: ApiPrincipal, session: SessionDep,
    q: Annotated[str, Query(max_length=200)] = "",
    tlp: Tlp | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, object]:
    total, rows = service.list_events(session, p, q=q, tlp=tlp.value if tlp else None,
                                      limit=limit, offset=offset)
    return {"total": total, "items": [event_out(session, e) for e in rows]}


@router.post("/events", status_code=status.HTTP_201_CREATED,
             summary="Partager un événement et ses indicateurs")
def create_event(body: EventIn, p: ApiPrincipal, session: SessionDep) -> EventDetailOut:
    return detail_out(session, service.create_event(session, p, body))


@router.get("/events/{event_id}", summary="Un événement et ses indicateurs")
def get_event(event_id: int, p: ApiPrincipal, session: SessionDep) -> EventDetailOut:
    return detail_out(session, service.get_event(session, p, event_id))


@router.post("/events/{event_id}/indicators", status_code=status.HTTP_201_CREATED,
             summary="Ajouter des indicateurs à un événement")
def add_indicators(event_id: int, body: IndicatorsIn, p: ApiPrincipal,
                   session: SessionDep) -> EventDetailOut:
    ev = service.get_event(session, p, event_id)
    service.add_indicators(session, p, ev, body.indicators)
    return detail_out(session, ev)


@router.post("/events/{event_id}/withdraw", summary="Retirer un événement")
def withdraw(event_id: int, p: ApiPrincipal, session: SessionDep) -> EventOut:
    ev = service.get_event(session, p, event_id)
    return event_out(session, service.withdraw(session, p, ev))


@router.get("/search", summary="Chercher une valeur (IP, domaine, URL, adresse, empreinte)")
def search(value: Annotated[str, Query(min_length=1, max_length=2048)], p: ApiPrincipal,
           session: SessionDep) -> list[SearchHit]:
    rows = service.search(session, p, value)
    outs = indicators_out(session, [i for i, _ in rows])
    return [SearchHit(indicator=o, event_id=ev.id, event_title=ev.title, tlp=ev.tlp)
            for o, (_, ev) in zip(outs, rows, strict=True)]


@router.post("/{indicator_id}/sightings", status_code=status.HTTP_201_CREATED,
             summary="Signaler un indicateur vu, ou un faux positif")
def add_sighting(indicator_id: int, body: SightingIn, p: ApiPrincipal,
                 session: SessionDep) -> dict[str, object]:
    s = service.add_sighting(session, p, indicator_id, body)
    return {"id": s.id, "indicator_id": indicator_id, "kind": s.kind, "finess": s.finess,
            **service.sighting_counts(session, [indicator_id])[indicator_id]}


@router.get("/counts", summary="Nombre d'événements et d'indicateurs visibles")
def counts(p: ApiPrincipal, session: SessionDep) -> dict[str, int]:
    policy.authorize(p, "cyber.ioc.board")
    return service.counts(session, audience_of(session, p))


@router.get("/export", summary="Exporter en STIX 2.1, MISP JSON ou CSV (TLP appliqué)")
def export(
    p: ApiPrincipal, session: SessionDep,
    format_: Annotated[str, Query(alias="format", pattern="^(stix|misp|csv)$")] = "stix",
    event_id: Annotated[int | None, Query(ge=1)] = None,
    tlp: Tlp | None = None,
) -> Response:
    body = transfer.export(session, p, format_, event_id=event_id,
                           tlp=tlp.value if tlp else None)
    ext = {"stix": "json", "misp": "json", "csv": "csv"}[format_]
    return Response(body, media_type=transfer.FORMATS[format_], headers={
        "Content-Disposition": f'attachment; filename="indicateurs-{format_}.{ext}"'})


@router.post("/import", status_code=status.HTTP_201_CREATED,
             summary="Importer un bundle STIX 2.1 ou un fichier MISP JSON")
async def import_file(
    p: ApiPrincipal, session: SessionDep,
    file: Annotated[UploadFile, File(description="bundle STIX 2.1 ou événement(s) MISP JSON")],
    format_: Annotated[str, Query(alias="format", pattern="^(stix|misp)$")],
    tlp: Annotated[Tlp, Query(description="TLP si le fichier n'en porte pas")],
    scope: Annotated[str, Query(max_length=20)],
    source_finess: Annotated[str | None, Query(max_length=9)] = None,
    scope_region: Annotated[str | None, Query(max_length=2)] = None,
    scope_finess: Annotated[str | None, Query(max_length=9)] = None,
    recipients: Annotated[str, Query(max_length=4000, description="FINESS séparés par des "
                                                                  "virgules")] = "",
) -> list[EventOut]:
    raw = await file.read(MAX_IMPORT_BYTES + 1)
    if len(raw) > MAX_IMPORT_BYTES:
        raise Invalid("fichier trop volumineux (limite 10 Mio)", "file too large",
                      code="too-large")
    sharing = sharing_of(tlp=tlp.value, scope=scope, source_finess=source_finess,
                         scope_region=scope_region, scope_finess=scope_finess,
                         recipients=recipients)
    events = transfer.import_file(session, p, format_, raw, sharing)
    return [event_out(session, e) for e in events]


def sharing_of(**fields: str | None) -> Sharing:
    """Sharing fields from a form (empty strings are absent), validated as the API's."""
    from pydantic import ValidationError

    raw = {k: v.strip() for k, v in fields.items() if v is not None and v.strip()}
    if "recipients" in raw:
        raw["recipients"] = [x.strip() for x in raw["recipients"].replace(";", ",").split(",")
                             if x.strip()]  # type: ignore[assignment]
    try:
        return Sharing.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first.get("loc", ()))
        raise Invalid(f"diffusion invalide : {where} — {first.get('msg', '')}",
                      "invalid sharing fields", code="sharing") from None
