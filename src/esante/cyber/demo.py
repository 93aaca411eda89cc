"""Demo history of cyber-vigilance: years of declared incidents over the demo's establishments,
so that the dashboards mean something.

Deterministic (a seeded random generator) for a given ``now``, and idempotent: once the
history exists (references ``DEMO-YYYY-NNNNN``), a second run adds nothing.

Assumptions (public figures give totals, not these details; they are stated here so they
can be changed):

- yearly volumes follow the national series' shape (≈320 declarations the first year, 733
  in 2021, 581 in 2023, a slow rise since), scaled so that the mean is ``per_year``; the
  current year counts only its elapsed part;
- categories (several per incident; shares of incidents): normal functioning of the establishment 75 %, data
  confidentiality/integrity 45 %, safety of care 30 %, spread to other structures 10 %,
  departmental/regional/national health organisation 5 %;
- origin: malicious 55 %, accidental 35 %, undetermined 10 %;
- large establishments declare more (weights: CHU 8, CH and CLCC 3, CHS and ESPIC 2,
  clinics 1, rehabilitation and home care 0.7, dialysis 0.5);
- declaration a median of 18 h after detection (long tail), acknowledgement a median of
  3 h later, qualification 30 h after that, closure about three weeks later: old incidents
  are closed, recent ones are at every stage;
- NIS2 applies from 2025 to 60 % of the incidents of CHU, CH, CHS and CLCC; CNIL and NIS2
  reports are filed (5 % late) for closed incidents, and missing for a third of the open
  ones whose deadline has passed (overdue).
"""

from __future__ import annotations

import math
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from esante.core.accounts import service as accounts
from esante.core.accounts.models import User
from esante.core.audit import Actor
from esante.core.db import utcnow
from esante.core.demo import anchor_finess, personas
from esante.core.orgs.models import Establishment
from esante.cyber.incidents.models import Incident, IncidentEvent, IncidentReport
from esante.cyber.incidents.rules import Status, obligations, severity

PREFIX = "DEMO-"
SEED = 2017_10_01  # the health declaration became mandatory in October 2017
DEFAULT_PER_YEAR = 40
# Shape of the yearly series, oldest first, the last being the current year.
SHAPE = (320, 390, 470, 733, 590, 581, 610, 640, 670, 700)
CATEGORY_ODDS = {"operations": 0.75, "data": 0.45, "care_safety": 0.30, "spread": 0.10,
                 "health_organisation": 0.05}
# Drawn independently; an incident that draws none is about normal functioning, so that
# category is drawn less often for its final share to stay at CATEGORY_ODDS.
_NONE_OF_OTHERS = math.prod(1 - p for c, p in CATEGORY_ODDS.items() if c != "operations")
_INCLUSION = {**CATEGORY_ODDS, "operations": (CATEGORY_ODDS["operations"] - _NONE_OF_OTHERS)
              / (1 - _NONE_OF_OTHERS)}
MALICIOUS_ODDS = {"yes": 0.55, "no": 0.35, "unknown": 0.10}
ESTABLISHMENT_WEIGHTS = {"CHU": 8.0, "CH": 3.0, "CLCC": 3.0, "CHS": 2.0, "ESPIC": 2.0,
                         "CLINIQUE": 1.0, "SSR": 0.7, "HAD": 0.7, "DIALYSE": 0.5}
NIS2_FROM = datetime(2025, 1, 1, tzinfo=UTC)
NIS2_CATEGORIES = ("CHU", "CH", "CHS", "CLCC")
DECLARANT_EMAIL = "historique-cyber@demo.esante.fr"
ANCHOR_COUNTS = (7, 3)  # incidents guaranteed to persona establishments A and B

MALICIOUS_TITLES = (
    "Rançongiciel sur le serveur de fichiers", "Hameçonnage : compte de messagerie compromis",
    "Compromission de l'accès VPN d'un prestataire", "Déni de service sur le site internet",
    "Usurpation de l'adresse de la direction (fraude au président)",
    "Maliciel détecté sur des postes de consultation", "Intrusion sur le serveur de messagerie",
    "Exfiltration de données par un compte compromis")
ACCIDENTAL_TITLES = (
    "Panne du dossier patient informatisé après une mise à jour",
    "Coupure du réseau (erreur de configuration)", "Arrêt de la téléphonie et de l'appel malade",
    "Envoi de résultats à un mauvais destinataire", "Perte d'un ordinateur portable non chiffré",
    "Défaillance du stockage du PACS", "Indisponibilité de l'hébergeur du laboratoire")


@dataclass(frozen=True)
class _Est:
    id: int
    finess: str
    region_code: str
    category: str


def seed_incidents(session: Session, *, years: int = 10, per_year: int = DEFAULT_PER_YEAR,
                   now: datetime | None = None,
                   progress: Callable[[int], None] | None = None) -> int:
    """Create the demo history once; returns how many incidents were created (0 if it
    already exists)."""
    if session.scalar(select(Incident.id).where(Incident.reference.like(f"{PREFIX}%")).limit(1)):
        return 0
    now = (now or utcnow()).replace(minute=0, second=0, microsecond=0)
    ests = [_Est(*row) for row in session.execute(select(
        Establishment.id, Establishment.finess, Establishment.region_code,
        Establishment.category).order_by(Establishment.finess))]
    if not ests:
        return 0
    rng = random.Random(SEED)
    declarant, anchor_declarants = _declarants(session)
    plan = _plan(rng, ests, years, per_year, now)
    by_finess = {e.finess: e for e in ests}
    for finess, count in zip(anchor_finess(), ANCHOR_COUNTS, strict=True):
        if finess in by_finess:
            plan.extend(_anchor_plan(rng, by_finess[finess], count, now, years))
    plan.sort(key=lambda item: item[1])
    seq: dict[int, int] = {}
    created = 0
    for start in range(0, len(plan), 1000):
        batch = []
        for est, detected, overdue in plan[start:start + 1000]:
            incident, reports = _incident(rng, est, detected, now)
            if overdue:
                incident.personal_data_breach = True
                reports.pop("cnil", None)
            year = incident.declared_at.year if incident.declared_at else detected.year
            seq[year] = seq.get(year, 0) + 1
            incident.reference = f"{PREFIX}{year}-{seq[year]:05d}"
            incident.idempotency_key = f"demo-history-{incident.reference}"
            incident.declarant_id = anchor_declarants.get(est.finess, declarant).id
            batch.append((incident, reports))
        session.add_all([i for i, _ in batch])
        session.flush()
        for incident, reports in batch:
            session.add(IncidentEvent(incident_id=incident.id, at=incident.declared_at,
                                      actor_label="historique de démonstration",
                                      kind="declared",
                                      text=f"incident déclaré ({incident.reference})"))
            for code, at in reports.items():
                session.add(IncidentReport(incident_id=incident.id, obligation=code,
                                           submitted_at=at, submitted_by=incident.declarant_id,
                                           text="Rapport transmis (historique de démonstration).",
                                           content={}))
        session.flush()
        created += len(batch)
        if progress:
            progress(len(batch))
    return created


def planned_total(years: int = 10, per_year: int = DEFAULT_PER_YEAR,
                  now: datetime | None = None) -> int:
    """About how many incidents ``seed_incidents`` creates (for a progress bar)."""
    now = now or utcnow()
    return sum(n for _, n in _yearly(years, per_year, now)) + sum(ANCHOR_COUNTS)


def _declarants(session: Session) -> tuple[User, dict[str, User]]:
    """The account the history is declared under (inactive: nobody logs in with it), and
    the persona security officers for their own establishments."""
    user = accounts.get_user_by_email(session, DECLARANT_EMAIL)
    if user is None:
        user = accounts.create_user(session, actor=Actor.system("démo"), email=DECLARANT_EMAIL,
                                    password=secrets.token_urlsafe(32),
                                    display_name="Historique de démonstration")
        user.is_active = False
    anchors: dict[str, User] = {}
    for persona in personas():
        if persona.key in ("rssi_a", "rssi_b"):
            officer = accounts.get_user_by_email(session, persona.email)
            if officer is not None:
                anchors[persona.scope_ref] = officer
    return user, anchors


def _yearly(years: int, per_year: int, now: datetime) -> list[tuple[int, int]]:
    shape = list(SHAPE[-years:]) if years <= len(SHAPE) else \
        [SHAPE[0]] * (years - len(SHAPE)) + list(SHAPE)
    scale = per_year / (sum(shape) / len(shape))
    start_of_year = datetime(now.year, 1, 1, tzinfo=UTC)
    elapsed = (now - start_of_year) / (datetime(now.year + 1, 1, 1, tzinfo=UTC) - start_of_year)
    out = []
    for i, weight in enumerate(shape):
        year = now.year - (years - 1) + i
        n = weight * scale * (elapsed if year == now.year else 1.0)
        out.append((year, round(n)))
    return out


def _plan(rng: random.Random, ests: list[_Est], years: int, per_year: int,
          now: datetime) -> list[tuple[_Est, datetime, bool]]:
    weights = [ESTABLISHMENT_WEIGHTS.get(e.category, 1.0) for e in ests]
    plan = []
    for year, n in _yearly(years, per_year, now):
        start = datetime(year, 1, 1, tzinfo=UTC)
        end = min(datetime(year + 1, 1, 1, tzinfo=UTC), now - timedelta(hours=2))
        span = (end - start).total_seconds()
        for est in rng.choices(ests, weights, k=n):
            plan.append((est, start + timedelta(seconds=rng.uniform(0, span)), False))
    return plan


def _anchor_plan(rng: random.Random, est: _Est, count: int, now: datetime,
                 years: int) -> list[tuple[_Est, datetime, bool]]:
    """A persona establishment's history: a data breach a few days old whose CNIL report is
    overdue, one incident from yesterday, the rest spread over the past years."""
    out = [(est, now - timedelta(days=5, hours=3), True), (est, now - timedelta(hours=30), False)]
    span = (now - datetime(now.year - years + 1, 1, 1, tzinfo=UTC)).days
    out += [(est, now - timedelta(days=rng.uniform(min(30, span), span)), False)
            for _ in range(count - 2)]
    return out


def _lognormal_hours(rng: random.Random, median: float, sigma: float) -> timedelta:
    return timedelta(hours=rng.lognormvariate(math.log(median), sigma))


def _pick(rng: random.Random, odds: dict[str, float]) -> str:
    return rng.choices(list(odds), list(odds.values()))[0]


def _impacts(rng: random.Random, categories: list[str]) -> tuple[int, int, int, dict[str, Any],
                                                                 dict[str, Any]]:
    care = rng.choices((1, 2, 3), (0.5, 0.4, 0.1))[0] if "care_safety" in categories else 0
    data = rng.choices((1, 2, 3), (0.6, 0.3, 0.1))[0] if "data" in categories else 0
    spread = rng.choices((1, 2), (0.7, 0.3))[0] if "spread" in categories else 0
    care_impact = {"degraded_mode": care >= 2 or ("operations" in categories and rng.random() < 0.3),
                   "transfers": rng.randint(1, 20) if care == 3 else 0,
                   "cancelled_care": rng.randint(5, 300) if care >= 2 else 0}
    data_impact = {"confidentiality": data >= 1 and rng.random() < 0.7,
                   "integrity": data >= 1 and rng.random() < 0.4,
                   "availability": "operations" in categories,
                   "people_affected": rng.randint(10, 50_000) if data >= 2 else 0}
    return care, data, spread, care_impact, data_impact


def _incident(rng: random.Random, est: _Est, detected: datetime,
              now: datetime) -> tuple[Incident, dict[str, datetime]]:
    categories = sorted(c for c, odds in _INCLUSION.items() if rng.random() < odds) \
        or ["operations"]
    malicious = _pick(rng, MALICIOUS_ODDS)
    care, data, spread, care_impact, data_impact = _impacts(rng, categories)
    declared = min(detected + _lognormal_hours(rng, 18, 1.1), now - timedelta(minutes=30))
    ack_at = declared + _lognormal_hours(rng, 3, 0.8)
    qual_at = ack_at + _lognormal_hours(rng, 30, 1.0)
    close_at = qual_at + timedelta(days=rng.lognormvariate(math.log(21), 0.7))
    acknowledged, qualified, closed = (at if at <= now else None
                                       for at in (ack_at, qual_at, close_at))
    status = Status.CLOSED if closed else \
        rng.choice((Status.QUALIFIED, Status.REMEDIATION)) if qualified else \
        Status.ACKNOWLEDGED if acknowledged else Status.DECLARED
    titles = MALICIOUS_TITLES if malicious == "yes" else ACCIDENTAL_TITLES
    incident = Incident(
        establishment_id=est.id, finess=est.finess, region_code=est.region_code,
        status=status, title=rng.choice(titles),
        description="Incident de l'historique de démonstration (données fictives).",
        detected_at=detected, started_at=detected - timedelta(hours=rng.uniform(0, 48)),
        categories=categories, malicious=malicious, care_impact=care_impact,
        data_impact=data_impact, personal_data_breach=bool(data_impact["confidentiality"]),
        nis2_in_scope=detected >= NIS2_FROM and est.category in NIS2_CATEGORIES
        and rng.random() < 0.6,
        created_at=detected, updated_at=closed or qualified or acknowledged or declared,
        declared_at=declared, acknowledged_at=acknowledged, qualified_at=qualified,
        closed_at=closed, severity=severity(care, data, spread) if qualified else None,
        severity_factors={"care": care, "data": data, "spread": spread} if qualified else {},
        major=bool(qualified) and severity(care, data, spread) == 4, version=1)
    return incident, _reports(rng, incident, now)


def _reports(rng: random.Random, incident: Incident, now: datetime) -> dict[str, datetime]:
    assert incident.detected_at is not None
    closed = incident.status == Status.CLOSED
    filed: dict[str, datetime] = {}
    for ob in obligations(detected_at=incident.detected_at, declared_at=incident.declared_at,
                          personal_data_breach=incident.personal_data_breach,
                          nis2_in_scope=incident.nis2_in_scope, reports=filed):
        if ob.due_at is None:
            continue
        if not closed and rng.random() < 1 / 3:
            continue  # not filed yet: overdue once its due date has passed
        late = closed and rng.random() < 0.05
        at = ob.due_at + timedelta(hours=rng.uniform(1, 96)) if late else \
            ob.due_at - (ob.due_at - incident.detected_at) * rng.uniform(0.1, 0.9)
        if at <= now:
            filed[ob.code] = at
    return filed
