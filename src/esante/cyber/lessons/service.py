"""Lessons learned: the cell drafts a lesson from a closed incident, checks that it is
anonymised, publishes it to every establishment; everyone searches by category and tag.

Workflow: draft → checked (the anonymisation check passed on this text) → published;
a published lesson may be withdrawn. Any edit sends the lesson back to draft."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from esante.core import audit, policy
from esante.core.accounts.models import Role, User
from esante.core.db import utcnow
from esante.core.errors import Conflict, Invalid, NotFound
from esante.core.notifications import service as notifications
from esante.core.orgs.models import Establishment
from esante.core.policy import Principal
from esante.cyber.incidents import service as incidents
from esante.cyber.incidents.models import Incident
from esante.cyber.incidents.rules import Category
from esante.cyber.incidents.rules import Status as IncidentStatus
from esante.cyber.lessons import access as _access  # noqa: F401 - registers the rules
from esante.cyber.lessons.anonymity import (
    Finding,
    Known,
    finess_candidates,
    name_key,
    refusal,
    scan,
)
from esante.cyber.lessons.models import Lesson, LessonCategory, LessonTag
from esante.cyber.lessons.schemas import LessonFields

STATUS_LABELS = {"draft": "Brouillon", "checked": "Anonymisation vérifiée",
                 "published": "Publié", "withdrawn": "Retiré"}
FIELD_LABELS = {"title": "titre", "summary": "résumé", "narrative": "déroulé",
                "recommendations": "recommandations", "tags": "étiquettes"}
TEXT_FIELDS = ("title", "summary", "narrative", "recommendations")


# --- writing (the national cell) ----------------------------------------------------------

def create(session: Session, p: Principal, *, incident_id: int, fields: LessonFields) -> Lesson:
    policy.authorize(p, "cyber.lesson.write")
    incident = incidents.get_incident(session, p, incident_id)
    if incident.status != IncidentStatus.CLOSED:
        raise Invalid("un retour d'expérience se rédige à partir d'un incident clos",
                      "a lesson is written from a closed incident", code="incident-status")
    lesson = Lesson(source_incident_id=incident.id, title=fields.title or "",
                    author_id=p.user.id, status="draft")
    session.add(lesson)
    session.flush()
    if fields.categories is None:
        fields = fields.model_copy(update={
            "categories": [Category(c) for c in incident.categories]})
    _apply(session, lesson, fields)
    audit.record(session, actor=p.actor, action="cyber.lesson.create", object_type="lesson",
                 object_id=lesson.id, details={"incident": incident.reference})
    session.flush()
    return lesson


def update(session: Session, p: Principal, lesson: Lesson, fields: LessonFields, *,
           expected_version: int | None = None) -> Lesson:
    policy.authorize(p, "cyber.lesson.write", lesson)
    if lesson.status == "published":
        raise Conflict("un retour d'expérience publié ne se modifie pas : retirez-le d'abord",
                       "withdraw a published lesson before editing it", code="status")
    if expected_version is not None and expected_version != lesson.version:
        raise Conflict(f"le retour d'expérience a été modifié entre-temps (version "
                       f"{lesson.version}, attendue {expected_version}) : rechargez la page",
                       "the lesson changed meanwhile", code="version")
    _apply(session, lesson, fields)
    lesson.status, lesson.checked_at = "draft", None
    lesson.version += 1
    lesson.updated_at = utcnow()
    session.flush()
    return lesson


def _apply(session: Session, lesson: Lesson, fields: LessonFields) -> None:
    values = fields.model_dump(exclude_unset=True, exclude_none=True)
    for name in TEXT_FIELDS:
        if name in values:
            setattr(lesson, name, values[name].strip())
    if "categories" in values:
        _replace(session, LessonCategory, lesson.id, "category",
                 sorted({str(c) for c in values["categories"]}))
    if "tags" in values:
        _replace(session, LessonTag, lesson.id, "tag",
                 sorted({" ".join(t.lower().split()) for t in values["tags"]}))


def _replace(session: Session, model: type[LessonCategory] | type[LessonTag], lesson_id: int,
             column: str, values: list[str]) -> None:
    for row in session.scalars(select(model).where(model.lesson_id == lesson_id)):
        session.delete(row)
    session.flush()
    for value in values:
        session.add(model(lesson_id=lesson_id, **{column: value}))


def findings(session: Session, lesson: Lesson) -> list[Finding]:
    """What the anonymisation check finds in the lesson as it stands."""
    fields = {FIELD_LABELS[n]: getattr(lesson, n) for n in TEXT_FIELDS}
    # Tags are stored in lower case: title-case them so that name patterns still apply.
    fields[FIELD_LABELS["tags"]] = ", ".join(
        t.title() for t in tags_of(session, [lesson.id])[lesson.id])
    return scan(fields, known(session, fields.values()))


def known(session: Session, texts: Any) -> Known:
    """What the platform knows that a lesson must not name. User names are read in
    batches; a name needs two words (a display name such as "Admin" is no person)."""
    texts = list(texts)
    candidates = finess_candidates(texts)
    finess = set(session.scalars(select(Establishment.finess).where(
        Establishment.finess.in_(candidates)))) if candidates else set()
    establishments = {k for n in session.scalars(select(Establishment.name))
                      if (k := name_key(n))}
    users = {k for n in session.scalars(select(User.display_name).execution_options(
        yield_per=5000)) if (k := name_key(n, min_words=2))}
    return Known(frozenset(finess), frozenset(establishments), frozenset(users))


def check(session: Session, p: Principal, lesson: Lesson) -> Lesson:
    policy.authorize(p, "cyber.lesson.write", lesson)
    if lesson.status not in ("draft", "checked"):
        raise Invalid(f"seul un brouillon se vérifie (statut : {STATUS_LABELS[lesson.status]})",
                      "only a draft is checked", code="status")
    found = findings(session, lesson)
    if found:
        raise refusal(found)
    lesson.status, lesson.checked_at = "checked", utcnow()
    session.flush()
    return lesson


def publish(session: Session, p: Principal, lesson: Lesson) -> Lesson:
    policy.authorize(p, "cyber.lesson.write", lesson)
    if lesson.status == "published":
        return lesson
    if lesson.status != "checked":
        raise Invalid("vérifiez d'abord l'anonymisation du retour d'expérience",
                      "check the anonymisation first", code="status")
    found = findings(session, lesson)  # the platform may know new names since the check
    if found:
        raise refusal(found)
    lesson.status, lesson.published_at = "published", utcnow()
    lesson.withdrawn_at = None
    lesson.version += 1
    audit.record(session, actor=p.actor, action="cyber.lesson.publish", object_type="lesson",
                 object_id=lesson.id)
    notifications.notify_role(session, role=Role.SECURITY_OFFICER,
                              title=f"Nouveau retour d'expérience : {lesson.title}"[:200],
                              body=lesson.summary[:500], link=f"/cyber/retours-experience/{lesson.id}")
    session.flush()
    return lesson


def withdraw(session: Session, p: Principal, lesson: Lesson) -> Lesson:
    policy.authorize(p, "cyber.lesson.write", lesson)
    if lesson.status != "published":
        raise Invalid("seul un retour d'expérience publié se retire", "not published",
                      code="status")
    lesson.status, lesson.withdrawn_at = "withdrawn", utcnow()
    lesson.version += 1
    audit.record(session, actor=p.actor, action="cyber.lesson.withdraw", object_type="lesson",
                 object_id=lesson.id)
    session.flush()
    return lesson


# --- reading ---------------------------------------------------------------------------------

def get_lesson(session: Session, p: Principal, lesson_id: int) -> Lesson:
    lesson = session.get(Lesson, lesson_id)
    if lesson is None or not policy.can(p, "cyber.lesson.read", lesson):
        raise NotFound("retour d'expérience introuvable", "lesson not found")
    return lesson


def list_lessons(session: Session, p: Principal, *, category: str | None = None,
                 tag: str | None = None, q: str | None = None, status: str | None = None,
                 limit: int = 50, offset: int = 0) -> tuple[int, list[Lesson]]:
    """Published lessons, searched by category, tag and words; the cell also lists the
    other statuses (``status``: one of them, or ``all``)."""
    policy.authorize(p, "cyber.lesson.list")
    stmt: Select[Any] = select(Lesson)
    if not policy.can(p, "cyber.lesson.write") or not status:
        stmt = stmt.where(Lesson.status == "published")
    elif status != "all":
        stmt = stmt.where(Lesson.status == status)
    if category:
        stmt = stmt.where(Lesson.id.in_(select(LessonCategory.lesson_id).where(
            LessonCategory.category == category)))
    if tag:
        stmt = stmt.where(Lesson.id.in_(select(LessonTag.lesson_id).where(
            LessonTag.tag == " ".join(tag.lower().split()))))
    if q:
        like = f"%{q.strip()[:80]}%"
        stmt = stmt.where(or_(Lesson.title.ilike(like), Lesson.summary.ilike(like),
                              Lesson.narrative.ilike(like), Lesson.recommendations.ilike(like)))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    order: list[Any] = [func.coalesce(Lesson.published_at, Lesson.updated_at).desc(),
                        Lesson.id.desc()]
    rows = list(session.scalars(stmt.order_by(*order).limit(limit).offset(offset)))
    return total, rows


def categories_of(session: Session, ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = defaultdict(list)
    for lesson_id, category in session.execute(select(
            LessonCategory.lesson_id, LessonCategory.category).where(
            LessonCategory.lesson_id.in_(ids)).order_by(LessonCategory.category)):
        out[lesson_id].append(category)
    return out


def tags_of(session: Session, ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = defaultdict(list)
    for lesson_id, tag in session.execute(select(LessonTag.lesson_id, LessonTag.tag).where(
            LessonTag.lesson_id.in_(ids)).order_by(LessonTag.tag)):
        out[lesson_id].append(tag)
    return out


def tag_counts(session: Session, p: Principal) -> list[tuple[str, int]]:
    """Tags of published lessons with how many lessons carry each."""
    policy.authorize(p, "cyber.lesson.list")
    return [(t, n) for t, n in session.execute(
        select(LessonTag.tag, func.count()).join(Lesson, Lesson.id == LessonTag.lesson_id)
        .where(Lesson.status == "published").group_by(LessonTag.tag)
        .order_by(func.count().desc(), LessonTag.tag).limit(200))]


def source_of(session: Session, p: Principal, lesson: Lesson) -> Incident | None:
    """The source incident, for the cell only (None for everyone else)."""
    if not policy.can(p, "cyber.lesson.source", lesson):
        return None
    return session.get(Incident, lesson.source_incident_id)


def closed_incidents(session: Session, p: Principal, limit: int = 100) -> list[Incident]:
    """Closed incidents a lesson can be written from (the cell's editor)."""
    policy.authorize(p, "cyber.lesson.write")
    return list(session.scalars(select(Incident).where(
        Incident.status == IncidentStatus.CLOSED).order_by(Incident.closed_at.desc())
        .limit(limit)))
