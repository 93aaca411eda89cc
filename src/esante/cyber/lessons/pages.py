"""Pages of lessons learned (French, DSFR): the searchable list, a lesson, and the cell's
editor (draft → anonymisation checked → published)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from esante.core import policy
from esante.core.errors import DomainError, Invalid
from esante.core.policy import Principal
from esante.cyber.incidents.rules import CATEGORY_LABELS, Category
from esante.cyber.lessons import service
from esante.cyber.lessons.anonymity import KIND_LABELS
from esante.cyber.lessons.models import Lesson
from esante.cyber.lessons.schemas import LessonFields
from esante.web.deps import Csrf, PagePrincipal, SessionDep, WebSessionDep
from esante.web.render import render

router = APIRouter(include_in_schema=False)
BASE = "/cyber/retours-experience"


def fields_from_form(form: FormData) -> LessonFields:
    tags = [t.strip() for t in str(form.get("tags") or "").split(",") if t.strip()]
    try:
        return LessonFields(
            title=str(form.get("title") or "").strip(),
            summary=str(form.get("summary") or ""),
            narrative=str(form.get("narrative") or ""),
            recommendations=str(form.get("recommendations") or ""),
            categories=[Category(str(c)) for c in form.getlist("categories")
                        if str(c) in CATEGORY_LABELS],
            tags=tags)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first.get("loc", ()))
        raise Invalid(f"formulaire invalide : {where} — {first.get('msg', '')}",
                      "invalid form") from None


@router.get(BASE)
def lesson_list(request: Request, p: PagePrincipal, session: SessionDep, ws: WebSessionDep,
                category: str = Query(default="", max_length=30),
                tag: str = Query(default="", max_length=40),
                q: str = Query(default="", max_length=80),
                statut: str = Query(default="", max_length=20)) -> Response:
    is_cell = policy.can(p, "cyber.lesson.write")
    total, rows = service.list_lessons(
        session, p, category=category if category in CATEGORY_LABELS else None,
        tag=tag or None, q=q or None, status=(statut or None) if is_cell else None, limit=100)
    ids = [x.id for x in rows]
    return render(request, "cyber/lessons/list.html", {
        "rows": rows, "total": total, "cats": service.categories_of(session, ids),
        "tags": service.tags_of(session, ids), "all_tags": service.tag_counts(session, p),
        "categories": CATEGORY_LABELS, "category": category, "tag": tag, "q": q,
        "statut": statut, "is_cell": is_cell, "status_labels": service.STATUS_LABELS,
    }, principal=p, ws=ws)


def _editor(request: Request, p: Principal, session: SessionDep, ws: WebSessionDep, *,
            lesson: Lesson | None, error: str = "", findings: list[Any] | None = None,
            status_code: int = 200) -> Response:
    policy.authorize(p, "cyber.lesson.write")
    ids = [lesson.id] if lesson else []
    return render(request, "cyber/lessons/editor.html", {
        "lesson": lesson, "categories": CATEGORY_LABELS,
        "lesson_categories": service.categories_of(session, ids)[lesson.id] if lesson else [],
        "lesson_tags": service.tags_of(session, ids)[lesson.id] if lesson else [],
        "incidents": service.closed_incidents(session, p) if lesson is None else [],
        "source": service.source_of(session, p, lesson) if lesson else None,
        "status_labels": service.STATUS_LABELS, "error": error, "findings": findings or [],
        "kind_labels": KIND_LABELS,
    }, principal=p, ws=ws, status_code=status_code)


@router.get(f"{BASE}/nouveau")
def new_lesson(request: Request, p: PagePrincipal, session: SessionDep,
               ws: WebSessionDep) -> Response:
    return _editor(request, p, session, ws, lesson=None)


@router.post(f"{BASE}/nouveau", dependencies=[Csrf])
async def create_lesson(request: Request, p: PagePrincipal, session: SessionDep,
                        ws: WebSessionDep) -> Response:
    form = await request.form()
    raw = str(form.get("incident_id") or "")
    try:
        if not raw.isdigit():
            raise Invalid("choisissez l'incident clos à l'origine du retour d'expérience",
                          "choose the source incident", code="incident")
        lesson = service.create(session, p, incident_id=int(raw), fields=fields_from_form(form))
    except DomainError as exc:
        session.rollback()
        return _editor(request, p, session, ws, lesson=None, error=exc.fr, status_code=422)
    return RedirectResponse(f"{BASE}/{lesson.id}/modifier", status_code=303)


@router.get(f"{BASE}/{{lesson_id}}")
def lesson_page(lesson_id: int, request: Request, p: PagePrincipal, session: SessionDep,
                ws: WebSessionDep) -> Response:
    lesson = service.get_lesson(session, p, lesson_id)
    return render(request, "cyber/lessons/lesson.html", {
        "lesson": lesson, "categories": CATEGORY_LABELS,
        "lesson_categories": service.categories_of(session, [lesson.id])[lesson.id],
        "lesson_tags": service.tags_of(session, [lesson.id])[lesson.id],
        "source": service.source_of(session, p, lesson),
        "is_cell": policy.can(p, "cyber.lesson.write"),
        "status_labels": service.STATUS_LABELS,
        "error": request.query_params.get("erreur", "")[:300],
    }, principal=p, ws=ws)


@router.get(f"{BASE}/{{lesson_id}}/modifier")
def edit_lesson(lesson_id: int, request: Request, p: PagePrincipal, session: SessionDep,
                ws: WebSessionDep) -> Response:
    policy.authorize(p, "cyber.lesson.write")
    lesson = service.get_lesson(session, p, lesson_id)
    return _editor(request, p, session, ws, lesson=lesson,
                   error=request.query_params.get("erreur", "")[:300])


@router.post(f"{BASE}/{{lesson_id}}/modifier", dependencies=[Csrf])
async def lesson_action(lesson_id: int, request: Request, p: PagePrincipal, session: SessionDep,
                        ws: WebSessionDep) -> Response:
    """Every button of the editor posts here with ``action``: save, check, publish,
    withdraw."""
    policy.authorize(p, "cyber.lesson.write")
    form = await request.form()
    action = str(form.get("action") or "")
    lesson = service.get_lesson(session, p, lesson_id)
    try:
        if action in ("save", "check"):
            version = str(form.get("version") or "")
            service.update(session, p, lesson, fields_from_form(form),
                           expected_version=int(version) if version.isdigit() else None)
        if action == "check":
            service.check(session, p, lesson)
        elif action == "publish":
            service.publish(session, p, lesson)
            return RedirectResponse(f"{BASE}/{lesson.id}", status_code=303)
        elif action == "withdraw":
            service.withdraw(session, p, lesson)
            return RedirectResponse(f"{BASE}/{lesson.id}", status_code=303)
        elif action not in ("save", "check"):
            raise Invalid("action inconnue", "unknown action")
    except DomainError as exc:
        if exc.code == "not-anonymised":
            # Keep the text as typed (back to draft), and list what must go.
            request.state.commit_anyway = action == "check"
            found = service.findings(session, lesson)
            return _editor(request, p, session, ws, lesson=lesson, error=exc.fr,
                           findings=found, status_code=422)
        session.rollback()
        return RedirectResponse(f"{BASE}/{lesson_id}/modifier?erreur={quote(exc.fr[:300])}",
                                status_code=303)
    return RedirectResponse(f"{BASE}/{lesson.id}/modifier", status_code=303)
