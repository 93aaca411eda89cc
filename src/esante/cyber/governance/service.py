"""The director's governance page: one establishment's maturity, incidents, awareness
coverage and the threat watch's open advisories, on one page and in a PDF
for the board. Each part comes from its own domain's service functions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

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


@dataclass(frozen=True)
class AdvisoryLine:
    reference: str
    title: str
    cvss: float | None
    status_label: str


@dataclass(frozen=True)
class AdvisorySummary:
    """The threat watch's alerts of one establishment on open advisories."""

    by_status: dict[str, int]  # French label of the follow-up -> count
    unresolved: list[AdvisoryLine]  # new or acknowledged, the most severe first (10 at most)

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    def __str__(self) -> str:
        if not self.total:
            return "aucun avis de sécurité ouvert ne concerne l'établissement"
        parts = ", ".join(f"{label} : {n}" for label, n in self.by_status.items() if n)
        return (f"{self.total} avis de sécurité ouvert(s) concernent l'établissement "
                f"(suivi — {parts})")


UNRESOLVED = ("new", "acknowledged")


def advisory_summary(session: Session, finess: str) -> AdvisorySummary:
    """Open advisories that concern the establishment (its alerts), by follow-up state, and
    the unresolved ones, the most severe first."""
    from sqlalchemy import func, select

    from esante.cyber.threatwatch.models import Advisory, Alert
    from esante.cyber.threatwatch.service import STATUS_LABELS

    open_alerts = (select(Alert.status, func.count()).join(Advisory, Advisory.id == Alert.advisory_id)
                   .where(Alert.finess == finess, Advisory.status == "open")
                   .group_by(Alert.status))
    counts = dict(session.execute(open_alerts).all())
    by_status = {label: counts.get(code, 0) for code, label in STATUS_LABELS.items()}
    rows = session.execute(
        select(Advisory.reference, Advisory.title, Advisory.cvss_score, Alert.status)
        .join(Alert, Alert.advisory_id == Advisory.id)
        .where(Alert.finess == finess, Advisory.status == "open", Alert.status.in_(UNRESOLVED))
        .order_by(Advisory.cvss_score.desc().nulls_last(), Advisory.id).limit(10))
    return AdvisorySummary(by_status, [
        AdvisoryLine(ref, title, float(score) if score is not None else None,
                     STATUS_LABELS[status]) for ref, title, score, status in rows])


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
    advisories: AdvisorySummary


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
