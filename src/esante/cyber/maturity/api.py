"""JSON routes of the maturity self-assessment (``/api/cyber/maturity``)."""

from __future__ import annotations

from fastapi import APIRouter, status
from sqlalchemy.orm import Session

from esante.core import policy
from esante.cyber.maturity import scoring, service
from esante.cyber.maturity.catalogue import catalogue
from esante.cyber.maturity.models import MaturityAssessment
from esante.cyber.maturity.schemas import (
    AnswerOut,
    AssessmentDetailOut,
    AssessmentIn,
    AssessmentOut,
    CatalogueOut,
    ChapterOut,
    ItemOut,
    PeersOut,
    RecommendationOut,
    RegionRowOut,
    ScoresOut,
    SummaryOut,
)
from esante.web.deps import ApiPrincipal, SessionDep

router = APIRouter(prefix="/cyber/maturity", tags=["cybervigilance : maturité"])


def scores_out(s: scoring.Scores) -> ScoresOut:
    return ScoresOut(overall=s.overall, chapters=s.chapters)


def assessment_out(a: MaturityAssessment) -> AssessmentOut:
    return AssessmentOut(id=a.id, finess=a.finess, assessed_at=a.assessed_at,
                         scores=scores_out(service.scores_of(a)),
                         security_budget_share=a.security_budget_share)


def peers_out(p: service.Peers) -> PeersOut:
    if p.median is None:
        note = (f"médiane non affichée : {p.count} autre(s) établissement(s) de même catégorie "
                f"et de même région ont répondu, il en faut au moins {scoring.MIN_PEERS}")
    else:
        note = f"médiane de {p.count} établissements de même catégorie et de même région"
    return PeersOut(category=p.category, region_code=p.region_code, count=p.count,
                    median=scores_out(p.median) if p.median else None, note=note)


def recommendation_out(r: scoring.Recommendation) -> RecommendationOut:
    return RecommendationOut(code=r.item.code, label=r.item.label, title=r.item.title,
                             chapter=r.item.chapter, level=r.item.level, answer=r.answer,
                             priority=r.priority)


def summary_out(s: service.Summary) -> SummaryOut:
    return SummaryOut(
        finess=s.est.finess, establishment=s.est.name,
        latest=assessment_out(s.latest) if s.latest else None,
        history=[assessment_out(a) for a in s.history],
        recommendations=None if s.recommendations is None
        else [recommendation_out(r) for r in s.recommendations],
        peers=peers_out(s.peers))


@router.get("/measures", summary="Le questionnaire : les 42 mesures du guide d'hygiène et la "
            "gouvernance")
def measures(p: ApiPrincipal) -> CatalogueOut:
    policy.authorize(p, "cyber.maturity.catalogue")
    cat = catalogue()
    return CatalogueOut(source=cat.source,
                        chapters=[ChapterOut(code=c.code, title=c.title) for c in cat.chapters],
                        items=[ItemOut(code=i.code, number=i.number, chapter=i.chapter,
                                       level=i.level, title=i.title) for i in cat.items])


@router.get("/region/{region_code}", summary="Maturité des établissements d'une région")
def region(region_code: str, p: ApiPrincipal, session: SessionDep) -> list[RegionRowOut]:
    rows = service.region_table(session, p, region_code[:3])
    return [RegionRowOut(finess=r.finess, establishment=r.name, category=r.category,
                         assessed_at=r.assessed_at, overall=r.overall_score) for r in rows]


@router.get("/assessments/{assessment_id}", summary="Une auto-évaluation et ses réponses")
def assessment(assessment_id: int, p: ApiPrincipal, session: SessionDep) -> AssessmentDetailOut:
    a = service.get_assessment(session, p, assessment_id)
    return detail_out(session, a)


def detail_out(session: Session, a: MaturityAssessment) -> AssessmentDetailOut:
    answers = service.answers_of(session, a)
    evidence = service.evidence_of(session, a)
    items = catalogue().items
    return AssessmentDetailOut(
        **assessment_out(a).model_dump(),
        answers=[AnswerOut(code=i.code, title=i.title, answer=answers.get(i.code, ""),
                           evidence=evidence.get(i.code, "")) for i in items])


@router.get("/{finess}", summary="Scores, historique, recommandations et médiane des pairs")
def summary(finess: str, p: ApiPrincipal, session: SessionDep) -> SummaryOut:
    return summary_out(service.summary(session, p, finess[:12]))


@router.post("/{finess}/assessments", status_code=status.HTTP_201_CREATED,
             summary="Enregistrer une auto-évaluation (instantané daté)")
def submit(finess: str, body: AssessmentIn, p: ApiPrincipal,
           session: SessionDep) -> AssessmentDetailOut:
    return detail_out(session, service.submit(session, p, finess[:12], body))
