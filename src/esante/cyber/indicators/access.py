"""Who sees which shared event, and who may do what with indicators.

The TLP 2.0 rule is written once, in ``visible_events``: a SQL condition on events for an
*audience* (the establishments, agency regions and cell membership of a viewer). Every read,
search, export, count and log match goes through it, so an event a viewer may not see is
never loaded, exported or counted for them.

- TLP:CLEAR — everyone of the cyber community of the platform;
- TLP:GREEN and TLP:AMBER — the chosen scope: national, a region (its establishments and
  its agency), a GHT, one establishment, or named establishments;
- TLP:AMBER+STRICT — one establishment only (scope ``establishment``): never another;
- TLP:RED — the named establishments only (scope ``organisations``);
- the establishment that shared an event always sees it; the national cell sees all.

Secure messaging checks incoming mail for the people it serves: a mailbox of an
establishment as that establishment; a professional's mailbox of no establishment with what
is shared with the whole community (TLP:CLEAR, and TLP:GREEN shared nationally); a citizen's
with TLP:CLEAR only (``Audience.general``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, exists, false, or_, select, true
from sqlalchemy.orm import Session

from esante.core.accounts.models import Role, ScopeKind
from esante.core.orgs.models import Establishment
from esante.core.policy import Principal, rule
from esante.cyber.indicators.models import IocEvent, IocEventRecipient
from esante.cyber.scopes import ESTABLISHMENT_STAFF, in_cell

BOARD = (*ESTABLISHMENT_STAFF, Role.REGIONAL_OFFICER, Role.CYBER_ANALYST)


@dataclass(frozen=True)
class Place:
    finess: str
    region_code: str
    ght_id: int | None


@dataclass(frozen=True)
class Audience:
    """Where a viewer stands for the TLP rule."""

    cell: bool = False
    places: tuple[Place, ...] = ()
    agency_regions: frozenset[str] = frozenset()
    # Beyond places: "clear" sees TLP:CLEAR, "national" also TLP:GREEN shared nationally.
    general: str = ""

    @property
    def finesses(self) -> list[str]:
        return sorted(pl.finess for pl in self.places)

    @property
    def empty(self) -> bool:
        return not (self.cell or self.places or self.agency_regions or self.general)


def _places(session: Session, finesses: set[str]) -> tuple[Place, ...]:
    if not finesses:
        return ()
    rows = session.scalars(select(Establishment).where(Establishment.finess.in_(sorted(finesses))))
    return tuple(Place(e.finess, e.region_code, e.ght_id) for e in rows)


def audience_of(session: Session, p: Principal) -> Audience:
    """The audience of a member of the cyber community (security staff, agency, cell)."""
    finesses = {g.scope_ref for g in p.grants_for(*ESTABLISHMENT_STAFF)
                if g.scope_kind == ScopeKind.ESTABLISHMENT}
    regions = frozenset(g.scope_ref for g in p.grants_for(Role.REGIONAL_OFFICER)
                        if g.scope_kind == ScopeKind.REGION)
    return Audience(cell=in_cell(p), places=_places(session, finesses), agency_regions=regions)


def audience_of_establishment(session: Session, finess: str) -> Audience:
    """What an establishment as a whole may see (log matching, phishing reports)."""
    return Audience(places=_places(session, {finess}))


def visible_events(audience: Audience) -> Any:
    """THE visibility rule (TLP 2.0 and sharing scope), as a condition on ``IocEvent``."""
    if audience.cell:
        return true()
    if audience.empty:
        return false()
    e = IocEvent
    if not (audience.places or audience.agency_regions):
        if audience.general == "national":
            return or_(e.tlp == "clear", and_(e.tlp == "green", e.scope == "national"))
        return e.tlp == "clear"
    finesses = audience.finesses
    regions = sorted({pl.region_code for pl in audience.places} | audience.agency_regions)
    ghts = sorted({pl.ght_id for pl in audience.places if pl.ght_id is not None})
    named = exists().where(IocEventRecipient.event_id == IocEvent.id,
                           IocEventRecipient.finess.in_(finesses or [""]))
    scoped = or_(
        e.scope == "national",
        and_(e.scope == "region", e.scope_region.in_(regions or [""])),
        and_(e.scope == "ght", e.scope_ght_id.in_(ghts or [-1])),
        and_(e.scope == "establishment", e.scope_finess.in_(finesses or [""])),
        and_(e.scope == "organisations", named),
    )
    return or_(
        e.source_finess.in_(finesses or [""]),
        e.tlp == "clear",
        and_(e.tlp.in_(("green", "amber")), scoped),
        and_(e.tlp == "amber+strict", e.scope == "establishment",
             e.scope_finess.in_(finesses or [""])),
        and_(e.tlp == "red", e.scope == "organisations", named),
    )


def security_officer_of(p: Principal, finess: str) -> bool:
    return any(g.scope_kind == ScopeKind.ESTABLISHMENT and g.scope_ref == finess
               for g in p.grants_for(Role.SECURITY_OFFICER))


@rule("cyber.ioc.board", write=False, label_fr="consulter les indicateurs partagés")
def _board(p: Principal, _t: Any) -> bool:
    return p.has_role(*BOARD)


@rule("cyber.ioc.publish", write=True,
      label_fr="partager un événement et ses indicateurs (RSSI de l'établissement source "
               "ou cellule nationale)")
def _publish(p: Principal, source_finess: str | None) -> bool:
    if source_finess is None:
        return in_cell(p)
    return security_officer_of(p, source_finess)


@rule("cyber.ioc.manage", write=True,
      label_fr="compléter ou retirer un événement partagé (sa source ou la cellule nationale)")
def _manage(p: Principal, event: IocEvent) -> bool:
    if in_cell(p):
        return True
    return event.source_finess is not None and security_officer_of(p, event.source_finess)


@rule("cyber.ioc.sight", write=True,
      label_fr="signaler un indicateur vu ou un faux positif pour son établissement")
def _sight(p: Principal, finess: str | None) -> bool:
    if finess is None:
        return in_cell(p)
    return any(g.scope_kind == ScopeKind.ESTABLISHMENT and g.scope_ref == finess
               for g in p.grants_for(*ESTABLISHMENT_STAFF))
