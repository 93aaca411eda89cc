"""The director's governance page: one establishment's maturity, incidents, awareness
coverage and (once the threat watch is wired) open advisories, on one page and in a PDF
for the board. Each part comes from its own domain's service functions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from esante.core import audit, policy
from esante.core.db import utcnow
from esante.core.orgs import service as orgs
from esante.core.orgs.models import Establishment
from esante.core.policy import Principal
from esante.cyber.awareness import service as awareness
from esante.cyber.governance import access as _access  # noqa: F401 - registers the rules
from esante.cyber.incidents import service as incidents
from esante.cyber.incidents.rules import STATUS_LABELS, Status
from esante.cyber.maturity import service as maturity

INCIDENT_WINDOW = timedelta(days=365)


def advisory_summary(session: Session, finess: str) -> Any | None:
    """Open advisories that concern the establishment, from the threat watch.

    The threat watch is built on another branch: the lead wires it here at merge (counts of
    open advisories by state, the most severe first). Until then: None, and the page says
    « veille : non disponible »."""
    del session, finess
    return None


@dataclass(frozen=True)
class IncidentLine:
    id: int
    reference: str
    title: str
    status: str
    status_label: str
    declared_at: datetime | None
    severity: int | None


@dataclass(frozen=True)
class CampaignLine:
    campaign_id: int
    title: str
    enrolled: bool
    staff: int
    coverage: float | None
    quiz_taken: int
    quiz_passed: int
    simulated: int
    clicked: int
    reported: int


@dataclass(frozen=True)
class Governance:
    est: Establishment
    generated_at: datetime
    maturity: maturity.Summary
    open_incidents: list[IncidentLine]
    incidents_last_12_months: int
    campaigns: list[CampaignLine]
    advisories: Any | None


def _incidents(session: Session, p: Principal, est: Establishment,
               now: datetime) -> tuple[list[IncidentLine], int]:
    _, rows = incidents.list_incidents(session, p, finess=est.finess, limit=1000)
    declared = [i for i in rows if i.status != Status.DRAFT]
    since = now - INCIDENT_WINDOW
    recent = sum(1 for i in declared if i.declared_at and _aware(i.declared_at) >= since)
    open_ = [IncidentLine(i.id, i.reference or str(i.id), i.title, i.status,
                          STATUS_LABELS.get(i.status, i.status), i.declared_at, i.severity)
             for i in declared if i.status != Status.CLOSED]
    open_.sort(key=lambda x: (-(x.severity or 0), x.declared_at or now))
    return open_, recent


def _aware(at: datetime) -> datetime:
    from datetime import UTC

    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _campaigns(session: Session, p: Principal, est: Establishment) -> list[CampaignLine]:
    out = []
    for campaign in awareness.list_campaigns(session, p)[:5]:
        if campaign.status == "draft":
            continue
        enrolment = awareness.enrolment_for(session, campaign, est)
        view = awareness.participation(session, p, campaign, finess=est.finess)
        t = view.total
        out.append(CampaignLine(campaign.id, campaign.title, enrolment is not None, t.staff,
                                t.coverage, t.quiz_taken, t.quiz_passed, t.simulated,
                                t.clicked, t.reported))
    return out


def governance(session: Session, p: Principal, finess: str) -> Governance:
    est = orgs.get_establishment(session, finess)
    policy.authorize(p, "cyber.governance.read", est)
    now = _aware(utcnow())
    open_, recent = _incidents(session, p, est, now)
    result = Governance(est=est, generated_at=now,
                        maturity=maturity.summary(session, p, est.finess),
                        open_incidents=open_, incidents_last_12_months=recent,
                        campaigns=_campaigns(session, p, est),
                        advisories=advisory_summary(session, est.finess))
    audit.record(session, actor=p.actor, action="cyber.governance.read",
                 object_type="establishment", object_id=est.finess)
    return result
