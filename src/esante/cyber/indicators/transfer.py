"""Export and import of shared events, through the visibility rule and the access policy."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from esante.core import audit, policy
from esante.core.errors import Invalid
from esante.core.policy import Principal
from esante.cyber.indicators import exchange, service
from esante.cyber.indicators.access import audience_of
from esante.cyber.indicators.models import IocEvent
from esante.cyber.indicators.schemas import EventIn, Sharing

FORMATS = {"stix": "application/stix+json;version=2.1", "misp": "application/json",
           "csv": "text/csv; charset=utf-8"}
MAX_EVENTS = 5_000


def export(session: Session, p: Principal, fmt: str, *, event_id: int | None = None,
           tlp: str | None = None) -> str:
    """The events the caller sees (one, or all with an optional TLP filter) in a format."""
    if fmt not in FORMATS:
        raise Invalid(f"format d'export inconnu « {fmt[:20]} » : stix, misp ou csv",
                      "unknown export format", code="format")
    policy.authorize(p, "cyber.ioc.board")
    aud = audience_of(session, p)
    stmt = service.events_query(aud, tlp=tlp)
    if event_id is not None:
        stmt = stmt.where(IocEvent.id == event_id)
    events = list(session.scalars(stmt.order_by(IocEvent.id).limit(MAX_EVENTS)))
    if event_id is not None and not events:
        service.get_event(session, p, event_id)  # 404 with the usual message
    pairs = exchange.load_pairs(session, events)
    if fmt == "stix":
        body = exchange.to_stix(pairs)
    elif fmt == "misp":
        docs = [exchange.to_misp(ev, inds) for ev, inds in pairs]
        body = json.dumps(docs[0] if event_id is not None else {"response": docs},
                          ensure_ascii=False, indent=1)
    else:
        body = exchange.to_csv(pairs)
    audit.record(session, actor=p.actor, action="cyber.ioc.export", object_type="ioc_event",
                 object_id=event_id or "*", details={"format": fmt, "events": len(events),
                                                      "tlp": tlp})
    return body


def import_file(session: Session, p: Principal, fmt: str, raw: bytes,
                sharing: Sharing) -> list[IocEvent]:
    """Create the events of a STIX bundle or MISP file, shared as ``sharing`` says; the TLP
    and PAP written in the file win over the form's (a file never loses its marking)."""
    policy.authorize(p, "cyber.ioc.publish", sharing.source_finess)
    if fmt == "stix":
        imported = exchange.from_stix(raw)
    elif fmt == "misp":
        imported = exchange.from_misp(raw)
    else:
        raise Invalid(f"format d'import inconnu « {fmt[:20]} » : stix ou misp",
                      "unknown import format", code="format")
    out = []
    for item in imported:
        if not item.indicators:
            continue
        tlp = service.parse_tlp(item.tlp) if item.tlp else sharing.tlp.value
        fields: dict[str, Any] = {**sharing.model_dump(), "tlp": tlp,
                                  "title": item.title if len(item.title) >= 3 else
                                  f"Import {fmt.upper()} : {item.title}",
                                  "description": item.description,
                                  "indicators": item.indicators}
        if item.pap in ("clear", "green", "amber", "red"):
            fields["pap"] = item.pap
        if tlp != sharing.tlp.value and tlp in ("amber+strict", "red"):
            raise Invalid(f"le fichier est marqué TLP:{tlp.upper()} : choisissez une diffusion "
                          "compatible (un établissement, ou des destinataires nommés)",
                          "file TLP needs another scope", code="tlp-scope")
        out.append(service.create_event(session, p, EventIn.model_validate(fields)))
    audit.record(session, actor=p.actor, action="cyber.ioc.import", object_type="ioc_event",
                 object_id=",".join(str(e.id) for e in out)[:120],
                 details={"format": fmt, "events": len(out)})
    return out


def stored_uuids(session: Session) -> set[str]:
    return set(session.scalars(select(IocEvent.uuid)))
