"""Indicator sharing: events under TLP 2.0 and PAP, their indicators (normalised, checked
against the warning lists), sightings, search and counts.

Every read goes through ``access.visible_events`` (one TLP rule for reads, searches,
exports, counts and log matching)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from esante.core import audit, policy
from esante.core.db import utcnow
from esante.core.errors import Invalid, NotFound
from esante.core.orgs import service as orgs
from esante.core.orgs.models import Establishment, Ght
from esante.core.policy import Principal
from esante.cyber.indicators import observables, warninglists
from esante.cyber.indicators.access import (
    Audience,
    audience_of,
    visible_events,
)
from esante.cyber.indicators.models import Indicator, IocEvent, IocEventRecipient, Sighting
from esante.cyber.indicators.schemas import EventIn, IndicatorIn, SightingIn, Tlp

CELL_LABEL = "Cellule nationale cyber (CERT Santé)"
TLP_LABELS = {"clear": "TLP:CLEAR", "green": "TLP:GREEN", "amber": "TLP:AMBER",
              "amber+strict": "TLP:AMBER+STRICT", "red": "TLP:RED"}
PAP_LABELS = {"clear": "PAP:CLEAR", "green": "PAP:GREEN", "amber": "PAP:AMBER", "red": "PAP:RED"}
SCOPE_LABELS = {"national": "Nationale", "region": "Région", "ght": "GHT",
                "establishment": "Établissement", "organisations": "Destinataires nommés"}


def parse_tlp(raw: str) -> str:
    """A TLP written in any usual way (``TLP:AMBER+STRICT``, ``amber``, ``white``)."""
    v = raw.strip().lower().removeprefix("tlp:").strip()
    v = {"white": "clear", "amber strict": "amber+strict", "amber-strict": "amber+strict"}.get(v, v)
    if v not in TLP_LABELS:
        raise Invalid(f"TLP inconnu « {raw[:40]} » : attendu CLEAR, GREEN, AMBER, AMBER+STRICT "
                      "ou RED", "unknown TLP", code="tlp")
    return v


# --- sharing ---------------------------------------------------------------------------------

@dataclass
class _Resolved:
    source: Establishment | None
    scope_region: str | None = None
    scope_ght_id: int | None = None
    scope_finess: str | None = None
    recipients: tuple[str, ...] = ()


def _resolve_sharing(session: Session, p: Principal, body: EventIn) -> _Resolved:
    policy.authorize(p, "cyber.ioc.publish", body.source_finess)
    src = orgs.get_establishment(session, body.source_finess) if body.source_finess else None
    r = _Resolved(source=src)
    tlp, scope = body.tlp.value, body.scope.value
    if tlp == "amber+strict" and scope != "establishment":
        raise Invalid("TLP:AMBER+STRICT : la diffusion est limitée à un seul établissement "
                      "(portée « établissement »)", "AMBER+STRICT needs establishment scope",
                      code="tlp-scope")
    if tlp == "red" and scope != "organisations":
        raise Invalid("TLP:RED : choisissez les destinataires nommés (portée « organisations »)",
                      "RED needs named recipients", code="tlp-scope")
    if scope == "region":
        code = body.scope_region or (src.region_code if src else None)
        if not code:
            raise Invalid("précisez la région de diffusion (scope_region)", "scope_region needed",
                          code="scope")
        r.scope_region = orgs.get_region(session, code).code
    elif scope == "ght":
        if src is None or src.ght_id is None:
            raise Invalid("la diffusion au GHT demande un établissement source membre d'un GHT",
                          "GHT scope needs a source establishment in a GHT", code="scope")
        r.scope_ght_id = src.ght_id
    elif scope == "establishment":
        target = body.scope_finess or (src.finess if src else None)
        if target is None:
            raise Invalid("précisez l'établissement destinataire (scope_finess)",
                          "scope_finess needed", code="scope")
        if src is not None and target != src.finess:
            raise Invalid("un établissement ne diffuse « à un établissement » qu'à lui-même : "
                          "pour un autre, nommez-le comme destinataire (portée « organisations »)",
                          "establishment scope is the source itself", code="scope")
        r.scope_finess = orgs.get_establishment(session, target).finess
    elif scope == "organisations":
        names = sorted(set(body.recipients))
        if not names:
            raise Invalid("nommez au moins un établissement destinataire", "no recipients",
                          code="recipients")
        r.recipients = tuple(orgs.get_establishment(session, f).finess for f in names)
    return r


def create_event(session: Session, p: Principal, body: EventIn, *,
                 phishing_report_id: int | None = None) -> IocEvent:
    r = _resolve_sharing(session, p, body)
    ev = IocEvent(uuid=str(uuid.uuid4()), title=body.title.strip(),
                  description=body.description.strip(), tlp=body.tlp.value, pap=body.pap.value,
                  scope=body.scope.value, scope_region=r.scope_region,
                  scope_ght_id=r.scope_ght_id, scope_finess=r.scope_finess,
                  source_finess=r.source.finess if r.source else None,
                  source_label=r.source.name if r.source else CELL_LABEL,
                  status="published", expires_at=body.expires_at,
                  phishing_report_id=phishing_report_id, created_by=p.user.id)
    session.add(ev)
    session.flush()
    for f in r.recipients:
        session.add(IocEventRecipient(event_id=ev.id, finess=f))
    _add(session, ev, body.indicators)
    audit.record(session, actor=p.actor, action="cyber.ioc.create", object_type="ioc_event",
                 object_id=ev.id, details={"tlp": ev.tlp, "scope": ev.scope,
                                           "indicators": len(body.indicators)})
    session.flush()
    return ev


def _add(session: Session, ev: IocEvent, items: Iterable[IndicatorIn]) -> list[Indicator]:
    existing = {(k, v) for k, v in session.execute(
        select(Indicator.kind, Indicator.value).where(Indicator.event_id == ev.id))}
    out = []
    for item in items:
        kind = item.kind.value if item.kind else observables.guess_kind(item.value)
        value = observables.normalise(kind, item.value)
        if (kind, value) in existing:
            continue
        existing.add((kind, value))
        ind = Indicator(event_id=ev.id, uuid=str(uuid.uuid4()), kind=kind, value=value,
                        comment=item.comment.strip(), to_ids=True,
                        warning=warninglists.warning_for(kind, value),
                        expires_at=item.expires_at)
        session.add(ind)
        out.append(ind)
    session.flush()
    return out


def add_indicators(session: Session, p: Principal, ev: IocEvent,
                   items: list[IndicatorIn]) -> list[Indicator]:
    policy.authorize(p, "cyber.ioc.manage", ev)
    added = _add(session, ev, items)
    audit.record(session, actor=p.actor, action="cyber.ioc.add", object_type="ioc_event",
                 object_id=ev.id, details={"added": len(added)})
    return added


def withdraw(session: Session, p: Principal, ev: IocEvent) -> IocEvent:
    policy.authorize(p, "cyber.ioc.manage", ev)
    ev.status = "withdrawn"
    audit.record(session, actor=p.actor, action="cyber.ioc.withdraw", object_type="ioc_event",
                 object_id=ev.id)
    session.flush()
    return ev


# --- reading (always through the visibility rule) ---------------------------------------------

def _audience(session: Session, p: Principal) -> Audience:
    policy.authorize(p, "cyber.ioc.board")
    return audience_of(session, p)


def get_event(session: Session, p: Principal, event_id: int) -> IocEvent:
    aud = _audience(session, p)
    ev = session.scalar(select(IocEvent).where(IocEvent.id == event_id, visible_events(aud)))
    if ev is None:
        raise NotFound("événement introuvable", "event not found")
    return ev


def events_query(aud: Audience, *, q: str = "", tlp: str | None = None,
                 include_withdrawn: bool = False) -> Select[Any]:
    stmt: Select[Any] = select(IocEvent).where(visible_events(aud))
    if not include_withdrawn:
        stmt = stmt.where(IocEvent.status == "published")
    if tlp:
        stmt = stmt.where(IocEvent.tlp == tlp)
    if q:
        stmt = stmt.where(IocEvent.title.ilike(f"%{q}%"))
    return stmt


def list_events(session: Session, p: Principal, *, q: str = "", tlp: str | None = None,
                limit: int = 50, offset: int = 0) -> tuple[int, list[IocEvent]]:
    aud = _audience(session, p)
    stmt = events_query(aud, q=q, tlp=tlp)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = list(session.scalars(stmt.order_by(IocEvent.created_at.desc(), IocEvent.id.desc())
                                .limit(limit).offset(offset)))
    return total, rows


def counts(session: Session, aud: Audience) -> dict[str, int]:
    """Events and indicators an audience sees (for dashboards): same rule as every read."""
    ev = events_query(aud).subquery()
    n_events = session.scalar(select(func.count()).select_from(ev)) or 0
    n_ind = session.scalar(select(func.count(Indicator.id)).where(
        Indicator.event_id.in_(select(ev.c.id)))) or 0
    return {"events": n_events, "indicators": n_ind}


def indicators_of(session: Session, ev: IocEvent) -> list[Indicator]:
    return list(session.scalars(select(Indicator).where(Indicator.event_id == ev.id)
                                .order_by(Indicator.kind, Indicator.value)))


def indicator_count(session: Session, ev: IocEvent) -> int:
    return session.scalar(select(func.count(Indicator.id)).where(
        Indicator.event_id == ev.id)) or 0


def search(session: Session, p: Principal, raw: str, *,
           limit: int = 100) -> list[tuple[Indicator, IocEvent]]:
    """Indicators equal to a value (any kind it could be), in events the viewer sees."""
    aud = _audience(session, p)
    kind = observables.guess_kind(raw)
    try:
        value = observables.normalise(kind, raw)
    except Invalid:
        value = raw.strip().lower()
    conds = [Indicator.value == value]
    if kind == "domain":  # a domain also finds the URLs and addresses on it
        conds += [Indicator.value.like(f"%://{value}/%"), Indicator.value.like(f"%@{value}")]
    rows = session.execute(select(Indicator, IocEvent).join(IocEvent)
                           .where(or_(*conds), visible_events(aud)).limit(limit)).all()
    return [(r[0], r[1]) for r in rows]


def sighting_counts(session: Session, ids: list[int]) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {i: {"seen": 0, "false_positive": 0} for i in ids}
    if ids:
        for ind_id, kind, n in session.execute(
                select(Sighting.indicator_id, Sighting.kind, func.count())
                .where(Sighting.indicator_id.in_(ids))
                .group_by(Sighting.indicator_id, Sighting.kind)):
            out[ind_id][kind] = n
    return out


def add_sighting(session: Session, p: Principal, indicator_id: int, body: SightingIn,
                 *, source: str = "manual") -> Sighting:
    aud = _audience(session, p)
    row = session.execute(select(Indicator, IocEvent).join(IocEvent).where(
        Indicator.id == indicator_id, visible_events(aud))).first()
    if row is None:
        raise NotFound("indicateur introuvable", "indicator not found")
    finess = body.finess
    if finess is None and not aud.cell and len(aud.finesses) > 1:
        raise Invalid("précisez l'établissement (finess) du signalement", "finess needed",
                      code="finess")
    if finess is None and not aud.cell and aud.finesses:
        finess = aud.finesses[0]
    policy.authorize(p, "cyber.ioc.sight", finess)  # an agency has no establishment: refused
    s = Sighting(indicator_id=indicator_id, kind=body.kind.value, finess=finess, source=source,
                 note=body.note.strip(), created_by=p.user.id)
    session.add(s)
    audit.record(session, actor=p.actor, action="cyber.ioc.sighting", object_type="indicator",
                 object_id=indicator_id, details={"kind": s.kind, "finess": finess})
    session.flush()
    return s


# --- what matching uses --------------------------------------------------------------------

@dataclass(frozen=True)
class Known:
    """An indicator as a matcher holds it."""

    indicator_id: int
    kind: str
    value: str
    event_id: int
    event_title: str
    tlp: str


def active_indicators(session: Session, aud: Audience, *, now: datetime | None = None,
                      values: Collection[str] | None = None) -> Iterator[Known]:
    """Indicators that may raise an alert for an audience: visible, published, not expired,
    not on a warning list."""
    now = now or utcnow()
    stmt = (select(Indicator.id, Indicator.kind, Indicator.value, IocEvent.id, IocEvent.title,
                   IocEvent.tlp)
            .join(IocEvent, Indicator.event_id == IocEvent.id)
            .where(visible_events(aud), IocEvent.status == "published",
                   or_(IocEvent.expires_at.is_(None), IocEvent.expires_at > now),
                   or_(Indicator.expires_at.is_(None), Indicator.expires_at > now),
                   Indicator.warning.is_(None), Indicator.to_ids.is_(True)))
    if values is not None:  # a bounded look-up: one plain query
        stmt = stmt.where(Indicator.value.in_(sorted(values) or [""]))
    else:  # every indicator (log matching): streamed (a server-side cursor on PostgreSQL)
        stmt = stmt.execution_options(yield_per=10_000)
    for row in session.execute(stmt):
        yield Known(*row)


def ght_label(session: Session, ev: IocEvent) -> str:
    if ev.scope == "region":
        return f"Région {ev.scope_region}"
    if ev.scope == "ght" and ev.scope_ght_id:
        g = session.get(Ght, ev.scope_ght_id)
        return f"GHT {g.name}" if g else "GHT"
    if ev.scope == "establishment":
        return f"Établissement {ev.scope_finess}"
    if ev.scope == "organisations":
        names = session.scalars(select(IocEventRecipient.finess).where(
            IocEventRecipient.event_id == ev.id)).all()
        return "Destinataires : " + ", ".join(names)
    return SCOPE_LABELS[ev.scope]


def tlp_value(t: Tlp | str) -> str:
    return t.value if isinstance(t, Tlp) else t
