"""Dashboard figures: national, regional and per establishment.

Every figure is an SQL aggregate that runs on SQLite and PostgreSQL alike; the only
dialect-aware parts are the period of a timestamp (month, year) and the hours between two
timestamps, written once below, and the percentiles: PostgreSQL's ``percentile_cont``, or on
SQLite the same interpolation over the sorted durations (a few thousand floats).

Only declared incidents that the viewer may see are counted (the same condition as the
incident list, ``incidents.service.visible``); drafts never are. Months and years are
calendar periods in UTC."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, String, and_, case, cast, exists, func, or_, select, true
from sqlalchemy.orm import Session

from esante.core import policy
from esante.core.db import utcnow
from esante.core.orgs import service as orgs
from esante.core.orgs.models import Region
from esante.core.policy import Principal
from esante.cyber.dashboards import access as _access  # noqa: F401 - registers the rules
from esante.cyber.dashboards.schemas import (
    Count,
    Dashboard,
    Duration,
    IncidentLine,
    ObligationLine,
    Overdue,
    Share,
)
from esante.cyber.incidents import service as incidents
from esante.cyber.incidents.models import Incident, IncidentReport
from esante.cyber.incidents.rules import (
    CATEGORY_LABELS,
    OBLIGATION_LABELS,
    SEVERITY_LABELS,
    STATUS_LABELS,
    Category,
    Obligation,
    Status,
    obligations,
)

MONTHS = 24  # the monthly chart covers the last two years
INCIDENT_LINES = 50  # the establishment dashboard lists its latest incidents
OPEN_STATUSES = (Status.DECLARED, Status.ACKNOWLEDGED, Status.QUALIFIED, Status.REMEDIATION)
CLOCKED = tuple(code for code in OBLIGATION_LABELS if code != "health_declaration")
MALICIOUS_LABELS = {"yes": "Malveillant", "no": "Accidentel", "unknown": "Indéterminé"}
CARE_LABELS = {"care_safety": "Sécurité des soins touchée (catégorie)",
               "degraded_mode": "Passage en mode dégradé",
               "transfers": "Transferts de patients",
               "cancelled_care": "Soins ou rendez-vous annulés"}
MONTH_FR = ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.",
            "nov.", "déc.")
_CHUNK = 500


# --- the three dashboards ------------------------------------------------------------------

def national(session: Session, p: Principal, *, now: datetime | None = None) -> Dashboard:
    policy.authorize(p, "cyber.dashboard.national")
    return _build(session, p, scope="national", ref="", title="France entière",
                  where=true(), now=now or utcnow())


def regional(session: Session, p: Principal, code: str, *,
             now: datetime | None = None) -> Dashboard:
    region = orgs.get_region(session, code)
    policy.authorize(p, "cyber.dashboard.region", region)
    return _build(session, p, scope="region", ref=region.code, title=region.name,
                  where=Incident.region_code == region.code, now=now or utcnow())


def establishment(session: Session, p: Principal, finess: str, *,
                  now: datetime | None = None) -> Dashboard:
    est = orgs.get_establishment(session, finess)
    policy.authorize(p, "cyber.dashboard.establishment", est)
    now = now or utcnow()
    dash = _build(session, p, scope="establishment", ref=est.finess,
                  title=f"{est.name} ({est.finess})",
                  where=Incident.establishment_id == est.id, now=now)
    dash.incidents = _incident_lines(session, _counted(p, Incident.establishment_id == est.id),
                                     now)
    return dash


def default_target(p: Principal) -> str | None:
    """The dashboard a viewer lands on: national for the cell, else their region, else their
    establishment (None: no dashboard)."""
    if policy.can(p, "cyber.dashboard.national"):
        return "/cyber/tableaux-de-bord"
    for g in p.grants:
        if g.role == "regional_officer" and g.scope_kind == "region":
            return f"/cyber/tableaux-de-bord/region/{g.scope_ref}"
    for g in p.grants:
        if g.role in ("security_officer", "director") and g.scope_kind == "establishment":
            return f"/cyber/tableaux-de-bord/etablissement/{g.scope_ref}"
    return None


# --- building ------------------------------------------------------------------------------

def _counted(p: Principal, where: ColumnElement[bool]) -> ColumnElement[bool]:
    return and_(incidents.visible(p), Incident.status != Status.DRAFT,
                Incident.declared_at.is_not(None), where)


def _build(session: Session, p: Principal, *, scope: Any, ref: str, title: str,
           where: ColumnElement[bool], now: datetime) -> Dashboard:
    cond = _counted(p, where)
    dialect = session.get_bind().dialect.name
    summary = _summary(session, cond)
    total = summary["total"]
    categories = _by_category(session, cond, total)
    overdue = _overdue(session, cond, now)
    return Dashboard(
        scope=scope, ref=ref, title=title, generated_at=now, total=total,
        open=summary["open"],
        by_year=_by_year(session, cond, dialect, now),
        by_month=_by_month(session, cond, dialect, now),
        by_category=categories,
        by_region=_by_region(session, cond),
        by_severity=_by_severity(session, cond),
        malicious=[Share(key=k, label=label, count=summary[k], share=_share(summary[k], total))
                   for k, label in MALICIOUS_LABELS.items()],
        care_impact=_care(summary, categories, total),
        time_to_declare=_duration(session, cond, dialect, "Délai de déclaration "
                                  "(détection → déclaration)", Incident.declared_at,
                                  Incident.detected_at),
        time_to_qualify=_duration(session, cond, dialect, "Délai de qualification "
                                  "(déclaration → qualification)", Incident.qualified_at,
                                  Incident.declared_at),
        overdue=overdue, overdue_total=sum(o.count for o in overdue), incidents=[])


def _share(part: int, total: int) -> float | None:
    return round(part / total, 4) if total else None


def _summary(session: Session, cond: ColumnElement[bool]) -> dict[str, int]:
    def n(condition: ColumnElement[bool]) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    care = Incident.care_impact
    row = session.execute(select(
        func.count().label("total"),
        n(Incident.status.in_(OPEN_STATUSES)).label("open"),
        n(Incident.malicious == "yes").label("yes"),
        n(Incident.malicious == "no").label("no"),
        n(Incident.malicious.not_in(["yes", "no"])).label("unknown"),
        n(care["degraded_mode"].as_boolean()).label("degraded_mode"),
        n(care["transfers"].as_integer() > 0).label("transfers"),
        n(care["cancelled_care"].as_integer() > 0).label("cancelled_care"),
    ).where(cond)).one()
    return {k: int(v or 0) for k, v in row._mapping.items()}


def _period(col: Any, dialect: str, unit: str) -> Any:
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", col), "YYYY" if unit == "year" else "YYYY-MM")
    return func.strftime("%Y" if unit == "year" else "%Y-%m", col)


def _hours(later: Any, earlier: Any, dialect: str) -> Any:
    if dialect == "postgresql":
        return func.extract("epoch", later - earlier) / 3600.0
    return (func.julianday(later) - func.julianday(earlier)) * 24.0


def _by_year(session: Session, cond: ColumnElement[bool], dialect: str,
             now: datetime) -> list[Count]:
    period = _period(Incident.declared_at, dialect, "year")
    counts = {str(k): int(v) for k, v in session.execute(
        select(period, func.count()).where(cond).group_by(period)).all()}
    if not counts:
        return []
    first = min(int(k) for k in counts)
    return [Count(key=str(y), label=str(y), count=counts.get(str(y), 0))
            for y in range(first, now.year + 1)]


def _months(now: datetime, n: int) -> list[tuple[int, int]]:
    y, m = now.year, now.month
    out = []
    for _ in range(n):
        out.append((y, m))
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return out[::-1]


def _by_month(session: Session, cond: ColumnElement[bool], dialect: str,
              now: datetime) -> list[Count]:
    months = _months(now, MONTHS)
    start = now.replace(year=months[0][0], month=months[0][1], day=1, hour=0, minute=0,
                        second=0, microsecond=0)
    period = _period(Incident.declared_at, dialect, "month")
    counts = {str(k): int(v) for k, v in session.execute(
        select(period, func.count()).where(cond, Incident.declared_at >= start)
        .group_by(period)).all()}
    return [Count(key=f"{y:04d}-{m:02d}", label=f"{MONTH_FR[m - 1]} {y}",
                  count=counts.get(f"{y:04d}-{m:02d}", 0)) for y, m in months]


def _by_category(session: Session, cond: ColumnElement[bool], total: int) -> list[Share]:
    # Categories are a sorted JSON list (the service sorts them): grouping by its text groups
    # identical combinations, at most 2⁵ of them, which are then split per category here.
    combo = cast(Incident.categories, String)
    counts: Counter[str] = Counter()
    for raw, n in session.execute(select(combo, func.count()).where(cond).group_by(combo)):
        for category in _parse_list(raw):
            counts[category] += int(n)
    return [Share(key=c.value, label=CATEGORY_LABELS[c.value], count=counts[c.value],
                  share=_share(counts[c.value], total)) for c in Category]


def _parse_list(raw: Any) -> list[str]:
    import json

    if raw is None:
        return []
    value = json.loads(raw) if isinstance(raw, str) else raw
    return [str(v) for v in value] if isinstance(value, list) else []


def _by_region(session: Session, cond: ColumnElement[bool]) -> list[Count]:
    names = dict(session.execute(select(Region.code, Region.name)).all())
    rows = session.execute(select(Incident.region_code, func.count()).where(cond)
                           .group_by(Incident.region_code)).all()
    out = [Count(key=code, label=names.get(code, code), count=int(n)) for code, n in rows]
    return sorted(out, key=lambda c: (-c.count, c.label))


def _by_severity(session: Session, cond: ColumnElement[bool]) -> list[Count]:
    counts = {k: int(v) for k, v in session.execute(
        select(Incident.severity, func.count()).where(cond).group_by(Incident.severity)).all()}
    out = [Count(key=str(level), label=label, count=counts.get(level, 0))
           for level, label in SEVERITY_LABELS.items()]
    out.append(Count(key="none", label="non encore qualifié", count=counts.get(None, 0)))
    return out


def _care(summary: dict[str, int], categories: list[Share], total: int) -> list[Share]:
    care_safety = next(c.count for c in categories if c.key == "care_safety")
    values = {"care_safety": care_safety, "degraded_mode": summary["degraded_mode"],
              "transfers": summary["transfers"], "cancelled_care": summary["cancelled_care"]}
    return [Share(key=k, label=CARE_LABELS[k], count=v, share=_share(v, total))
            for k, v in values.items()]


def _duration(session: Session, cond: ColumnElement[bool], dialect: str, label: str,
              later: Any, earlier: Any) -> Duration:
    hours = _hours(later, earlier, dialect)
    both = (cond, later.is_not(None), earlier.is_not(None))
    if dialect == "postgresql":  # the same interpolation, without shipping the rows
        n, median, p90 = session.execute(select(
            func.count(), func.percentile_cont(0.5).within_group(hours),
            func.percentile_cont(0.9).within_group(hours)).where(*both)).one()
        return Duration(label=label, count=int(n),
                        median_hours=None if median is None else round(float(median), 2),
                        p90_hours=None if p90 is None else round(float(p90), 2))
    values = [float(v) for v in session.scalars(
        select(hours).where(*both).order_by(hours))]
    return Duration(label=label, count=len(values), median_hours=_quantile(values, 0.5),
                    p90_hours=_quantile(values, 0.9))


def _quantile(sorted_values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (PostgreSQL's percentile_cont)."""
    if not sorted_values:
        return None
    pos = q * (len(sorted_values) - 1)
    low = int(pos)
    high = min(low + 1, len(sorted_values) - 1)
    value = sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (pos - low)
    return round(value, 2)


# --- deadlines -------------------------------------------------------------------------------

def _reports(session: Session, ids: Iterable[int]) -> dict[int, dict[str, datetime]]:
    out: dict[int, dict[str, datetime]] = {}
    ids = list(ids)
    for i in range(0, len(ids), _CHUNK):
        rows = session.execute(select(IncidentReport.incident_id, IncidentReport.obligation,
                                      IncidentReport.submitted_at)
                               .where(IncidentReport.incident_id.in_(ids[i:i + _CHUNK])))
        for incident_id, code, at in rows:
            out.setdefault(incident_id, {})[code] = at
    return out


def _obligations(row: Any, reports: dict[str, datetime]) -> list[Obligation]:
    return obligations(detected_at=row.detected_at, declared_at=row.declared_at,
                       personal_data_breach=row.personal_data_breach,
                       nis2_in_scope=row.nis2_in_scope, reports=reports)


def _overdue(session: Session, cond: ColumnElement[bool], now: datetime) -> list[Overdue]:
    """Reports past their due date and not submitted, per obligation. SQL keeps only the
    incidents that may owe a report (a CNIL or NIS2 one still missing, detected more than
    24 h ago: the shortest clock); the deadline rules decide for those."""
    def missing(code: str) -> Any:
        # NOT EXISTS: both engines plan it as an anti-join on the (incident, obligation) key.
        return ~exists().where(IncidentReport.incident_id == Incident.id,
                               IncidentReport.obligation == code)

    nis2 = [c for c in CLOCKED if c.startswith("nis2_")]
    candidates = session.execute(select(
        Incident.id, Incident.detected_at, Incident.declared_at, Incident.personal_data_breach,
        Incident.nis2_in_scope,
    ).where(cond, Incident.detected_at.is_not(None),
            Incident.detected_at < now - timedelta(hours=24),
            or_(and_(Incident.personal_data_breach, missing("cnil")),
                and_(Incident.nis2_in_scope, or_(*(missing(c) for c in nis2)))))).all()
    reports = _reports(session, (r.id for r in candidates))
    counts: Counter[str] = Counter()
    for row in candidates:
        for ob in _obligations(row, reports.get(row.id, {})):
            if ob.status(now) == "overdue":
                counts[ob.code] += 1
    return [Overdue(code=c, label=OBLIGATION_LABELS[c][0], authority=OBLIGATION_LABELS[c][1],
                    count=counts[c]) for c in CLOCKED]


def _incident_lines(session: Session, cond: ColumnElement[bool], now: datetime) -> list[IncidentLine]:
    rows = list(session.execute(select(
        Incident.id, Incident.reference, Incident.title, Incident.status, Incident.declared_at,
        Incident.detected_at, Incident.severity, Incident.personal_data_breach,
        Incident.nis2_in_scope,
    ).where(cond).order_by(Incident.declared_at.desc(), Incident.id.desc())
        .limit(INCIDENT_LINES)).all())
    reports = _reports(session, (r.id for r in rows))
    lines = []
    for r in rows:
        obs = _obligations(r, reports.get(r.id, {})) if r.detected_at else []
        lines.append(IncidentLine(
            id=r.id, reference=r.reference, title=r.title, status=r.status,
            status_label=STATUS_LABELS.get(r.status, r.status), declared_at=r.declared_at,
            severity=r.severity,
            obligations=[ObligationLine(code=o.code, label=o.label, authority=o.authority,
                                        due_at=o.due_at, done_at=o.done_at,
                                        status=o.status(now))  # type: ignore[arg-type]
                         for o in obs]))
    return lines
