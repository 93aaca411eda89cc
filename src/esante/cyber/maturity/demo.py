"""Demo self-assessments: dated snapshots for a deterministic share of the demo's
establishments, so that the peers' median exists for the common categories.

Assumptions (no public figures give these details; stated so they can be changed): about
45 % of establishments have answered, once or twice a year apart, with a maturity that grows
with size (CHU highest, dialysis centres lowest) and improves between snapshots; reinforced
measures are done less often than standard ones. The persona establishments have three
snapshots, so that their history means something."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from esante.core.db import utcnow
from esante.core.demo import anchor_finess
from esante.core.orgs.models import Establishment
from esante.cyber.maturity import scoring
from esante.cyber.maturity.catalogue import catalogue
from esante.cyber.maturity.models import MaturityAnswer, MaturityAssessment

SEED = 2017_09_01  # the guide's second edition
SHARE = 0.45
BASE = {"CHU": 0.70, "CLCC": 0.66, "CH": 0.55, "CHS": 0.50, "ESPIC": 0.52, "CLINIQUE": 0.45,
        "SSR": 0.40, "HAD": 0.40, "DIALYSE": 0.35}


def _answers(rng: random.Random, level: float) -> dict[str, str]:
    out = {}
    for item in catalogue().items:
        p = level if item.level == "standard" else level - 0.2
        draw = rng.random()
        if draw < 0.03:
            out[item.code] = "not_applicable"
        elif draw < 0.03 + p:
            out[item.code] = "done"
        elif draw < 0.03 + p + 0.2:
            out[item.code] = "partial"
        else:
            out[item.code] = "not_done"
    return out


def seed_assessments(session: Session) -> int:
    """Create the demo snapshots once; returns how many were created (0 if present)."""
    if session.scalar(select(func.count()).select_from(MaturityAssessment)):
        return 0
    rng = random.Random(SEED)
    now = utcnow()
    anchors = set(anchor_finess())
    cat = catalogue()
    snapshots: list[tuple[MaturityAssessment, dict[str, str]]] = []
    for est in session.scalars(select(Establishment).order_by(Establishment.finess)):
        is_anchor = est.finess in anchors
        if not is_anchor and rng.random() > SHARE:
            continue
        level = min(0.9, max(0.1, rng.gauss(BASE.get(est.category, 0.45), 0.12)))
        count = 3 if is_anchor else rng.choice((1, 2))
        for k in range(count):
            at = now - timedelta(days=365 * (count - 1 - k) + rng.randint(1, 60))
            answers = _answers(rng, min(0.95, level + 0.08 * k))
            scores = scoring.score(cat, answers)
            snapshots.append((MaturityAssessment(
                establishment_id=est.id, finess=est.finess, region_code=est.region_code,
                category=est.category, assessed_at=at, overall_score=scores.overall,
                chapter_scores=scores.chapters,
                security_budget_share=round(rng.uniform(1.5, 9.0), 1)), answers))
    session.add_all([a for a, _ in snapshots])
    session.flush()
    rows: list[dict[str, Any]] = [
        {"assessment_id": a.id, "item_code": code, "answer": answer, "evidence": ""}
        for a, answers in snapshots for code, answer in answers.items()]
    for start in range(0, len(rows), 20_000):
        session.execute(insert(MaturityAnswer), rows[start:start + 20_000])
    session.flush()
    return len(snapshots)


def seed_demo(session: Session) -> tuple[int, int]:
    """The maturity snapshots and the awareness campaign: (assessments, enrolments) created."""
    from esante.cyber.awareness.demo import seed_campaign

    return seed_assessments(session), seed_campaign(session)
