"""Awareness campaigns ("Tous cybervigilants"): the cell publishes campaigns with modules
and quizzes; establishments enrol and record participation as counts; dashboards add the
counts up per establishment, region and nation."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from esante.core import audit, policy
from esante.core.db import utcnow
from esante.core.errors import Conflict, Invalid, NotFound
from esante.core.orgs import service as orgs
from esante.core.orgs.models import Establishment
from esante.core.policy import Principal
from esante.cyber.awareness import access as _access  # noqa: F401 - registers the rules
from esante.cyber.awareness.models import (
    AwarenessCampaign,
    AwarenessEnrolment,
    AwarenessModule,
    AwarenessResult,
    PhishingSimulation,
)
from esante.cyber.awareness.schemas import CampaignIn, ResultIn

STATUS_LABELS = {"draft": "Brouillon", "published": "Publiée", "closed": "Close"}


# --- campaigns ---------------------------------------------------------------------------

def create_campaign(session: Session, p: Principal, body: CampaignIn) -> AwarenessCampaign:
    policy.authorize(p, "cyber.awareness.campaign.manage")
    campaign = AwarenessCampaign(title=body.title.strip(), description=body.description.strip(),
                                 status="draft", starts_on=body.starts_on, ends_on=body.ends_on,
                                 created_by=p.user.id)
    session.add(campaign)
    session.flush()
    for i, m in enumerate(body.modules, start=1):
        session.add(AwarenessModule(
            campaign_id=campaign.id, position=i, title=m.title.strip(), content=m.content,
            duration_minutes=m.duration_minutes, pass_mark=m.pass_mark,
            quiz=[q.model_dump() for q in m.quiz]))
    audit.record(session, actor=p.actor, action="cyber.awareness.campaign.create",
                 object_type="awareness_campaign", object_id=campaign.id)
    session.flush()
    return campaign


def publish(session: Session, p: Principal, campaign: AwarenessCampaign) -> AwarenessCampaign:
    policy.authorize(p, "cyber.awareness.campaign.manage")
    if campaign.status != "draft":
        raise Conflict("la campagne est déjà publiée", "campaign already published",
                       code="published")
    campaign.status, campaign.published_at = "published", utcnow()
    audit.record(session, actor=p.actor, action="cyber.awareness.campaign.publish",
                 object_type="awareness_campaign", object_id=campaign.id)
    session.flush()
    return campaign


def list_campaigns(session: Session, p: Principal) -> list[AwarenessCampaign]:
    policy.authorize(p, "cyber.awareness.board")
    stmt = select(AwarenessCampaign).order_by(AwarenessCampaign.starts_on.desc(),
                                              AwarenessCampaign.id.desc())
    if not policy.can(p, "cyber.awareness.campaign.manage"):
        stmt = stmt.where(AwarenessCampaign.status != "draft")
    return list(session.scalars(stmt))


def get_campaign(session: Session, p: Principal, campaign_id: int) -> AwarenessCampaign:
    campaign = session.get(AwarenessCampaign, campaign_id)
    if campaign is None or not policy.can(p, "cyber.awareness.campaign.read", campaign):
        raise NotFound("campagne introuvable", "campaign not found")
    return campaign


def modules_of(session: Session, campaign: AwarenessCampaign) -> list[AwarenessModule]:
    return list(session.scalars(select(AwarenessModule).where(
        AwarenessModule.campaign_id == campaign.id).order_by(AwarenessModule.position)))


# --- enrolment and participation ---------------------------------------------------------

def enrol(session: Session, p: Principal, campaign: AwarenessCampaign, *, finess: str,
          staff_count: int) -> AwarenessEnrolment:
    est = orgs.get_establishment(session, finess)
    policy.authorize(p, "cyber.awareness.enrol", est)
    if campaign.status != "published":
        raise Invalid("on ne s'inscrit qu'à une campagne publiée et en cours",
                      "campaign not open", code="not-open")
    if session.scalar(select(AwarenessEnrolment.id).where(
            AwarenessEnrolment.campaign_id == campaign.id,
            AwarenessEnrolment.establishment_id == est.id)):
        raise Conflict("l'établissement est déjà inscrit à cette campagne", "already enrolled",
                       code="enrolled")
    row = AwarenessEnrolment(campaign_id=campaign.id, establishment_id=est.id,
                             finess=est.finess, region_code=est.region_code,
                             staff_count=staff_count, enrolled_by=p.user.id)
    session.add(row)
    session.flush()
    audit.record(session, actor=p.actor, action="cyber.awareness.enrol",
                 object_type="awareness_enrolment", object_id=row.id,
                 details={"finess": est.finess, "campaign": campaign.id})
    return row


def establishment_of(session: Session, enrolment: AwarenessEnrolment) -> Establishment:
    est = session.get(Establishment, enrolment.establishment_id)
    assert est is not None
    return est


def get_enrolment(session: Session, p: Principal, enrolment_id: int) -> AwarenessEnrolment:
    row = session.get(AwarenessEnrolment, enrolment_id)
    if row is None or not policy.can(p, "cyber.awareness.participation.read",
                                     establishment_of(session, row)):
        raise NotFound("inscription introuvable", "enrolment not found")
    return row


def enrolment_for(session: Session, campaign: AwarenessCampaign,
                  est: Establishment) -> AwarenessEnrolment | None:
    return session.scalar(select(AwarenessEnrolment).where(
        AwarenessEnrolment.campaign_id == campaign.id,
        AwarenessEnrolment.establishment_id == est.id))


def record_result(session: Session, p: Principal, enrolment: AwarenessEnrolment,
                  body: ResultIn) -> AwarenessResult:
    policy.authorize(p, "cyber.awareness.enrol", establishment_of(session, enrolment))
    module = session.get(AwarenessModule, body.module_id)
    if module is None or module.campaign_id != enrolment.campaign_id:
        raise Invalid("ce module n'appartient pas à la campagne", "module not in campaign",
                      code="module")
    so_far = session.scalar(select(func.coalesce(func.sum(AwarenessResult.participants), 0))
                            .where(AwarenessResult.enrolment_id == enrolment.id,
                                   AwarenessResult.module_id == module.id)) or 0
    if so_far + body.participants > enrolment.staff_count:
        raise Invalid(f"participants : {so_far} déjà comptés pour ce module, {body.participants}"
                      f" de plus dépasserait les {enrolment.staff_count} personnels visés",
                      "more participants than targeted staff", code="too-many")
    row = AwarenessResult(enrolment_id=enrolment.id, module_id=module.id,
                          participants=body.participants, quiz_taken=body.quiz_taken,
                          quiz_passed=body.quiz_passed, recorded_by=p.user.id)
    session.add(row)
    session.flush()
    audit.record(session, actor=p.actor, action="cyber.awareness.result",
                 object_type="awareness_enrolment", object_id=enrolment.id,
                 details={"module": module.id, "participants": body.participants})
    return row


# --- dashboards ------------------------------------------------------------------------------

@dataclass
class Row:
    key: str
    label: str
    establishments: int = 0
    staff: int = 0
    participants: int = 0
    covered: float = 0.0  # staff-weighted coverage numerator
    quiz_taken: int = 0
    quiz_passed: int = 0
    simulated: int = 0
    clicked: int = 0
    reported: int = 0
    # suspicious messages the staff reported themselves (the phishing-report service),
    # since the campaign was published: the habit the campaign wants to build
    phishing_reports: int = 0

    @property
    def coverage(self) -> float | None:
        return round(self.covered / self.staff, 3) if self.staff else None

    @property
    def coverage_pct(self) -> float:
        return round(100 * self.covered / self.staff, 1) if self.staff else 0.0

    def add(self, other: Row) -> None:
        for name in ("establishments", "staff", "participants", "covered", "quiz_taken",
                     "quiz_passed", "simulated", "clicked", "reported", "phishing_reports"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True)
class Participation:
    campaign: AwarenessCampaign
    scope: str
    ref: str
    total: Row
    rows: list[Row]
    eligible: int  # establishments in scope, enrolled or not


def _per_enrolment(session: Session, campaign: AwarenessCampaign,
                   enrolments: list[AwarenessEnrolment], names: dict[int, str]) -> list[Row]:
    """One row per enrolled establishment: coverage is the mean, over the campaign's modules,
    of the share of targeted staff who followed each one."""
    modules = [m.id for m in modules_of(session, campaign)]
    ids = [e.id for e in enrolments]
    sums: dict[tuple[int, int], tuple[int, int, int]] = {}
    sims: dict[int, tuple[int, int, int]] = {}
    if ids:
        for eid, mid, part, taken, passed in session.execute(select(
                AwarenessResult.enrolment_id, AwarenessResult.module_id,
                func.sum(AwarenessResult.participants), func.sum(AwarenessResult.quiz_taken),
                func.sum(AwarenessResult.quiz_passed)).where(
                AwarenessResult.enrolment_id.in_(ids)).group_by(
                AwarenessResult.enrolment_id, AwarenessResult.module_id)):
            sums[(eid, mid)] = (int(part), int(taken), int(passed))
        for eid, n, c, r in session.execute(select(
                PhishingSimulation.enrolment_id, func.sum(PhishingSimulation.recipients),
                func.sum(PhishingSimulation.clicked), func.sum(PhishingSimulation.reported))
                .where(PhishingSimulation.enrolment_id.in_(ids))
                .group_by(PhishingSimulation.enrolment_id)):
            sims[eid] = (int(n or 0), int(c or 0), int(r or 0))
    from esante.cyber.phishing.service import report_counts

    reports = report_counts(session, finesses=[e.finess for e in enrolments],
                            since=campaign.published_at or campaign.created_at)
    rows = []
    for e in enrolments:
        per_module = [sums.get((e.id, m), (0, 0, 0)) for m in modules]
        share = (sum(min(part, e.staff_count) for part, _, _ in per_module)
                 / (len(modules) * e.staff_count)) if modules else 0.0
        n, c, r = sims.get(e.id, (0, 0, 0))
        rows.append(Row(e.finess, names.get(e.establishment_id, e.finess), 1, e.staff_count,
                        max((part for part, _, _ in per_module), default=0),
                        share * e.staff_count, sum(t for _, t, _ in per_module),
                        sum(x for _, _, x in per_module), n, c, r,
                        reports.get(e.finess, {}).get("total", 0)))
    return rows


def participation(session: Session, p: Principal, campaign: AwarenessCampaign, *,
                  finess: str | None = None, region: str | None = None) -> Participation:
    """The counts of one establishment, one region (a row per establishment) or the nation
    (a row per region)."""
    stmt = select(AwarenessEnrolment).where(AwarenessEnrolment.campaign_id == campaign.id)
    if finess:
        est = orgs.get_establishment(session, finess)
        policy.authorize(p, "cyber.awareness.participation.read", est)
        scope, ref, eligible = "establishment", est.finess, 1
        stmt = stmt.where(AwarenessEnrolment.establishment_id == est.id)
    elif region:
        orgs.get_region(session, region)
        policy.authorize(p, "cyber.awareness.region.read", region)
        scope, ref = "region", region
        stmt = stmt.where(AwarenessEnrolment.region_code == region)
        eligible = session.scalar(select(func.count()).select_from(Establishment).where(
            Establishment.region_code == region)) or 0
    else:
        policy.authorize(p, "cyber.awareness.nation.read")
        scope, ref = "nation", "FR"
        eligible = session.scalar(select(func.count()).select_from(Establishment)) or 0
    enrolments = list(session.scalars(stmt))
    names = dict(session.execute(select(Establishment.id, Establishment.name).where(
        Establishment.id.in_([e.establishment_id for e in enrolments] or [0]))).all())
    rows = _per_enrolment(session, campaign, enrolments, names)
    if scope == "nation":
        rows = _by_region(session, rows, enrolments)
    total = Row(ref, "Total")
    for r in rows:
        total.add(r)
    return Participation(campaign, scope, ref, total, rows, eligible)


def _by_region(session: Session, rows: Iterable[Row],
               enrolments: list[AwarenessEnrolment]) -> list[Row]:
    region_of = {e.finess: e.region_code for e in enrolments}
    names = {r.code: r.name for r in orgs.list_regions(session)}
    out: dict[str, Row] = {}
    for r in rows:
        code = region_of[r.key]
        if code not in out:
            out[code] = Row(code, names.get(code, code))
        out[code].add(r)
    return sorted(out.values(), key=lambda r: r.label)


def module_coverage(session: Session, campaign: AwarenessCampaign,
                    enrolment: AwarenessEnrolment) -> list[tuple[str, float]]:
    """Each module's share of the targeted staff who followed it, in %."""
    done = dict(session.execute(select(
        AwarenessResult.module_id, func.sum(AwarenessResult.participants)).where(
        AwarenessResult.enrolment_id == enrolment.id).group_by(AwarenessResult.module_id)).all())
    return [(m.title, round(100 * min(int(done.get(m.id) or 0), enrolment.staff_count)
                            / enrolment.staff_count, 1)) for m in modules_of(session, campaign)]


def coverage_histogram(rows: list[Row]) -> list[tuple[str, int]]:
    """How many establishments fall in each tenth of coverage (0-10 %, …, 90-100 %)."""
    counts = [0] * 10
    for r in rows:
        counts[min(9, int((r.coverage or 0) * 10))] += 1
    return [(f"{10 * i}-{10 * i + 10} %", n) for i, n in enumerate(counts)]

