"""Maturity self-assessment: answering the questionnaire (a dated snapshot each time),
scores per chapter and overall, recommendations, history, and the peers' median."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from esante.core import audit, policy
from esante.core.crypto import Vault
from esante.core.db import utcnow
from esante.core.errors import Invalid, NotFound
from esante.core.orgs import service as orgs
from esante.core.orgs.models import Establishment
from esante.core.policy import Principal
from esante.cyber.maturity import access as _access  # noqa: F401 - registers the rules
from esante.cyber.maturity import scoring
from esante.cyber.maturity.catalogue import catalogue
from esante.cyber.maturity.models import MaturityAnswer, MaturityAssessment
from esante.cyber.maturity.schemas import AssessmentIn

PURPOSE = "cyber.maturity.evidence"


def _context(assessment_id: int, code: str) -> str:
    return f"maturity:{assessment_id}:{code}"


def check_answers(body: AssessmentIn) -> dict[str, str]:
    """The answers by item code, or a precise error naming what is missing or unknown."""
    known = catalogue().by_code()
    unknown = sorted(set(body.answers) - set(known))
    if unknown:
        raise Invalid(f"question(s) inconnue(s) : {', '.join(unknown[:10])}",
                      "unknown questionnaire items", code="unknown-items", items=unknown[:10])
    missing = [code for code in known if code not in body.answers]
    if missing:
        labels = ", ".join(known[c].label for c in missing[:8])
        more = f" et {len(missing) - 8} autre(s)" if len(missing) > 8 else ""
        raise Invalid(f"questionnaire incomplet : répondez à {labels}{more} "
                      "(« non applicable » est une réponse)", "questionnaire incomplete",
                      code="incomplete", items=missing)
    return {code: a.answer.value for code, a in body.answers.items()}


def submit(session: Session, p: Principal, finess: str, body: AssessmentIn,
           *, at: Any = None) -> MaturityAssessment:
    est = orgs.get_establishment(session, finess)
    policy.authorize(p, "cyber.maturity.assess", est)
    answers = check_answers(body)
    return record(session, est, answers, {c: a.evidence.strip() for c, a in body.answers.items()},
                  budget_share=body.security_budget_share, by=p, at=at)


def record(session: Session, est: Establishment, answers: Mapping[str, str],
           evidence: Mapping[str, str], *, budget_share: float | None, by: Principal | None,
           at: Any = None) -> MaturityAssessment:
    """Store one snapshot (checked answers) with its scores; evidence notes encrypted."""
    scores = scoring.score(catalogue(), answers)
    row = MaturityAssessment(
        establishment_id=est.id, finess=est.finess, region_code=est.region_code,
        category=est.category, assessed_at=at or utcnow(),
        created_by=by.user.id if by else None, overall_score=scores.overall,
        chapter_scores=scores.chapters, security_budget_share=budget_share)
    session.add(row)
    session.flush()
    vault = Vault(session)
    for code, answer in answers.items():
        note = evidence.get(code, "")
        session.add(MaturityAnswer(
            assessment_id=row.id, item_code=code, answer=answer,
            evidence=vault.encrypt_text(note, purpose=PURPOSE, context=_context(row.id, code))
            if note else ""))
    if by is not None:
        audit.record(session, actor=by.actor, action="cyber.maturity.assess",
                     object_type="maturity_assessment", object_id=row.id,
                     details={"finess": est.finess, "overall": scores.overall})
    session.flush()
    return row


# --- reading -------------------------------------------------------------------------------

def history(session: Session, est: Establishment) -> list[MaturityAssessment]:
    return list(session.scalars(select(MaturityAssessment).where(
        MaturityAssessment.establishment_id == est.id).order_by(
        MaturityAssessment.assessed_at.desc(), MaturityAssessment.id.desc())))


def latest(session: Session, est: Establishment) -> MaturityAssessment | None:
    rows = history(session, est)
    return rows[0] if rows else None


def answers_of(session: Session, assessment: MaturityAssessment) -> dict[str, str]:
    rows = session.execute(select(MaturityAnswer.item_code, MaturityAnswer.answer).where(
        MaturityAnswer.assessment_id == assessment.id))
    return dict(rows.all())


def evidence_of(session: Session, assessment: MaturityAssessment) -> dict[str, str]:
    vault = Vault(session)
    rows = session.scalars(select(MaturityAnswer).where(
        MaturityAnswer.assessment_id == assessment.id))
    return {r.item_code: vault.decrypt_text(r.evidence, context=_context(assessment.id,
                                                                         r.item_code))
            for r in rows if r.evidence}


def scores_of(a: MaturityAssessment) -> scoring.Scores:
    return scoring.Scores(a.overall_score, dict(a.chapter_scores or {}))


@dataclass(frozen=True)
class Peers:
    category: str
    region_code: str
    count: int
    median: scoring.Scores | None


def _latest_ids(*conditions: Any) -> Any:
    """Each establishment's latest assessment, as a subquery of ids."""
    ranked = select(MaturityAssessment.id, func.row_number().over(
        partition_by=MaturityAssessment.establishment_id,
        order_by=(MaturityAssessment.assessed_at.desc(), MaturityAssessment.id.desc()),
    ).label("rank")).where(*conditions).subquery()
    return select(ranked.c.id).where(ranked.c.rank == 1)


def peers(session: Session, est: Establishment) -> Peers:
    """The median of the other establishments of the same category and region, each on its
    latest assessment; None below ``scoring.MIN_PEERS`` of them."""
    ids = _latest_ids(MaturityAssessment.category == est.category,
                      MaturityAssessment.region_code == est.region_code,
                      MaturityAssessment.establishment_id != est.id)
    rows = list(session.scalars(select(MaturityAssessment).where(MaturityAssessment.id.in_(ids))))
    median = scoring.peer_median([scores_of(r) for r in rows],
                                 [c.code for c in catalogue().chapters])
    return Peers(est.category, est.region_code, len(rows), median)


@dataclass(frozen=True)
class Summary:
    est: Establishment
    latest: MaturityAssessment | None
    history: list[MaturityAssessment]
    recommendations: list[scoring.Recommendation] | None
    peers: Peers


def summary(session: Session, p: Principal, finess: str) -> Summary:
    est = orgs.get_establishment(session, finess)
    policy.authorize(p, "cyber.maturity.scores.read", est)
    rows = history(session, est)
    recs = None
    if rows and policy.can(p, "cyber.maturity.answers.read", est):
        recs = scoring.recommendations(catalogue(), answers_of(session, rows[0]))
    audit.record(session, actor=p.actor, action="cyber.maturity.read",
                 object_type="establishment", object_id=est.finess)
    return Summary(est, rows[0] if rows else None, rows, recs, peers(session, est))


def get_assessment(session: Session, p: Principal, assessment_id: int) -> MaturityAssessment:
    """One assessment with its answers: hidden (404) from whoever may not read them."""
    row = session.get(MaturityAssessment, assessment_id)
    est = session.get(Establishment, row.establishment_id) if row else None
    if row is None or est is None or not policy.can(p, "cyber.maturity.answers.read", est):
        raise NotFound("auto-évaluation introuvable", "assessment not found")
    audit.record(session, actor=p.actor, action="cyber.maturity.answers.read",
                 object_type="maturity_assessment", object_id=row.id)
    return row


@dataclass(frozen=True)
class RegionRow:
    """One establishment of a region and its latest assessment's score (columns only: a
    region holds hundreds of establishments)."""

    finess: str
    name: str
    category: str
    assessed_at: datetime | None
    overall_score: float | None


def region_table(session: Session, p: Principal, region_code: str) -> list[RegionRow]:
    """Each establishment of a region with its latest assessment's score (or none)."""
    orgs.get_region(session, region_code)
    policy.authorize(p, "cyber.maturity.region.read", region_code)
    ids = _latest_ids(MaturityAssessment.region_code == region_code)
    latest_by_est = {row.establishment_id: row for row in session.execute(select(
        MaturityAssessment.establishment_id, MaturityAssessment.assessed_at,
        MaturityAssessment.overall_score).where(MaturityAssessment.id.in_(ids)))}
    out = []
    for e in session.execute(select(Establishment.id, Establishment.finess, Establishment.name,
                                    Establishment.category).where(
            Establishment.region_code == region_code).order_by(Establishment.name)):
        a = latest_by_est.get(e.id)
        out.append(RegionRow(e.finess, e.name, e.category, a.assessed_at if a else None,
                             a.overall_score if a else None))
    return out


def establishments_of(session: Session, p: Principal) -> list[Establishment]:
    """The establishments whose staff the principal is (security officer or director)."""
    from esante.cyber.scopes import ESTABLISHMENT_STAFF

    finesses = sorted({g.scope_ref for g in p.grants_for(*ESTABLISHMENT_STAFF)
                       if g.scope_kind == "establishment"})
    if not finesses:
        return []
    return list(session.scalars(select(Establishment).where(Establishment.finess.in_(finesses))
                                .order_by(Establishment.name)))


def check_form(form: Mapping[str, str]) -> AssessmentIn:
    """The questionnaire page's fields (``answer_<code>``, ``evidence_<code>``, ``budget``)
    as an AssessmentIn, with a French message when a value is off."""
    answers: dict[str, Any] = {}
    for item in catalogue().items:
        answer = form.get(f"answer_{item.code}", "")
        if not answer:
            continue
        answers[item.code] = {"answer": answer,
                              "evidence": form.get(f"evidence_{item.code}", "")[:4000]}
    raw_budget = form.get("budget", "").strip().replace(",", ".")
    budget: float | None = None
    if raw_budget:
        try:
            budget = float(raw_budget)
        except ValueError:
            raise Invalid("part du budget : indiquez un pourcentage (par exemple 7,5)",
                          "budget share must be a number") from None
        if not 0 <= budget <= 100:
            raise Invalid("part du budget : un pourcentage entre 0 et 100",
                          "budget share out of range")
    try:
        return AssessmentIn.model_validate({"answers": answers,
                                            "security_budget_share": budget})
    except ValueError as exc:
        raise Invalid(f"réponse invalide : {str(exc).splitlines()[0][:200]}",
                      "invalid answer") from None
