"""JSON routes of lessons learned (``/api/cyber/lessons``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy.orm import Session

from esante.core.policy import Principal
from esante.cyber.incidents.rules import Category
from esante.cyber.lessons import service
from esante.cyber.lessons.models import Lesson
from esante.cyber.lessons.schemas import LessonFields, LessonIn, LessonOut, TagCount
from esante.web.deps import ApiPrincipal, SessionDep

router = APIRouter(prefix="/cyber/lessons", tags=["cybervigilance : retours d'expérience"])


def lesson_out(session: Session, p: Principal, lesson: Lesson) -> LessonOut:
    source = service.source_of(session, p, lesson)
    return LessonOut(
        id=lesson.id, status=lesson.status, status_label=service.STATUS_LABELS[lesson.status],
        version=lesson.version, title=lesson.title, summary=lesson.summary,
        narrative=lesson.narrative, recommendations=lesson.recommendations,
        categories=service.categories_of(session, [lesson.id])[lesson.id],
        tags=service.tags_of(session, [lesson.id])[lesson.id],
        published_at=lesson.published_at,
        source_incident_id=source.id if source else None,
        source_incident_reference=source.reference if source else None)


@router.get("", summary="Retours d'expérience publiés (recherche par catégorie, étiquette, mots)")
def list_lessons(
    p: ApiPrincipal, session: SessionDep,
    category: Category | None = None,
    tag: Annotated[str | None, Query(max_length=40)] = None,
    q: Annotated[str | None, Query(max_length=80)] = None,
    status_: Annotated[str | None, Query(alias="status", pattern=(
        "^(draft|checked|published|withdrawn|all)$"))] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, object]:
    total, rows = service.list_lessons(session, p, category=category, tag=tag, q=q,
                                       status=status_, limit=limit, offset=offset)
    return {"total": total, "items": [lesson_out(session, p, x) for x in rows]}


@router.get("/tags", summary="Étiquettes des retours d'expérience publiés")
def tags(p: ApiPrincipal, session: SessionDep) -> list[TagCount]:
    return [TagCount(tag=t, lessons=n) for t, n in service.tag_counts(session, p)]


@router.post("", status_code=status.HTTP_201_CREATED,
             summary="Rédiger un retour d'expérience à partir d'un incident clos (cellule)")
def create(body: LessonIn, p: ApiPrincipal, session: SessionDep) -> LessonOut:
    fields = LessonFields.model_validate(body.model_dump(exclude={"incident_id"},
                                                         exclude_unset=True))
    return lesson_out(session, p, service.create(session, p, incident_id=body.incident_id,
                                                 fields=fields))


@router.get("/{lesson_id}", summary="Un retour d'expérience")
def get_lesson(lesson_id: int, p: ApiPrincipal, session: SessionDep) -> LessonOut:
    return lesson_out(session, p, service.get_lesson(session, p, lesson_id))


@router.patch("/{lesson_id}", summary="Modifier un brouillon (repasse en brouillon)")
def update(lesson_id: int, body: LessonFields, p: ApiPrincipal, session: SessionDep,
           expected_version: Annotated[int | None, Query()] = None) -> LessonOut:
    lesson = service.get_lesson(session, p, lesson_id)
    return lesson_out(session, p, service.update(session, p, lesson, body,
                                                 expected_version=expected_version))


@router.post("/{lesson_id}/check", summary="Contrôler l'anonymisation (422 si non anonymisé)")
def check(lesson_id: int, p: ApiPrincipal, session: SessionDep) -> LessonOut:
    lesson = service.get_lesson(session, p, lesson_id)
    return lesson_out(session, p, service.check(session, p, lesson))


@router.post("/{lesson_id}/publish", summary="Publier à tous les établissements")
def publish(lesson_id: int, p: ApiPrincipal, session: SessionDep) -> LessonOut:
    lesson = service.get_lesson(session, p, lesson_id)
    return lesson_out(session, p, service.publish(session, p, lesson))


@router.post("/{lesson_id}/withdraw", summary="Retirer un retour d'expérience publié")
def withdraw(lesson_id: int, p: ApiPrincipal, session: SessionDep) -> LessonOut:
    lesson = service.get_lesson(session, p, lesson_id)
    return lesson_out(session, p, service.withdraw(session, p, lesson))
