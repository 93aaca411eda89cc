"""The doctrine's versions and their public consultation: an administrator opens a new
version (a copy of the current requirements, to amend) with a closing date; until then
signed-in users comment on each requirement and the administrator answers; publishing the
version makes it the one the checks cite."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from esante.apps.doctrine import current, ensure_doctrine
from esante.apps.models import DoctrineVersion, Requirement, RequirementComment
from esante.core import audit
from esante.core.db import utcnow
from esante.core.errors import Conflict, Invalid, NotFound
from esante.core.policy import Principal, authorize


def versions(session: Session) -> list[DoctrineVersion]:
    ensure_doctrine(session)
    return list(session.scalars(select(DoctrineVersion).order_by(DoctrineVersion.created_at)))


def get_version(session: Session, version: str) -> DoctrineVersion:
    ensure_doctrine(session)
    row = session.scalar(select(DoctrineVersion).where(DoctrineVersion.version == version[:20]))
    if row is None:
        raise NotFound(f"version {version[:20]} de la doctrine introuvable",
                       "doctrine version not found")
    return row


def requirements(session: Session, v: DoctrineVersion) -> list[Requirement]:
    return list(session.scalars(select(Requirement).where(Requirement.version_id == v.id)
                                .order_by(Requirement.code)))


def requirement(session: Session, requirement_id: int) -> Requirement:
    req = session.get(Requirement, requirement_id)
    if req is None:
        raise NotFound(f"exigence {requirement_id} introuvable", "requirement not found")
    return req


def version_of(session: Session, req: Requirement) -> DoctrineVersion:
    return session.get_one(DoctrineVersion, req.version_id)


def get_comment(session: Session, comment_id: int) -> RequirementComment:
    row = session.get(RequirementComment, comment_id)
    if row is None:
        raise NotFound(f"commentaire {comment_id} introuvable", "comment not found")
    return row


def comments_of(session: Session, v: DoctrineVersion) -> dict[int, list[RequirementComment]]:
    rows = session.scalars(select(RequirementComment).join(
        Requirement, Requirement.id == RequirementComment.requirement_id).where(
        Requirement.version_id == v.id).order_by(RequirementComment.created_at))
    out: dict[int, list[RequirementComment]] = {}
    for c in rows:
        out.setdefault(c.requirement_id, []).append(c)
    return out


def open_consultation(session: Session, p: Principal, *, version: str, title: str,
                      ends_on: date) -> DoctrineVersion:
    authorize(p, "apps.doctrine.manage")
    if ends_on <= date.today():
        raise Invalid("la consultation doit se terminer après aujourd'hui",
                      "the consultation must end in the future")
    _, reqs = current(session)
    if session.scalar(select(DoctrineVersion.id).where(DoctrineVersion.version == version)):
        raise Conflict(f"la version {version} existe déjà", "version exists")
    row = DoctrineVersion(version=version, title=title, status="consultation",
                          consultation_ends_on=ends_on)
    session.add(row)
    session.flush()
    for r in reqs:
        session.add(Requirement(version_id=row.id, code=r.code, theme=r.theme, text=r.text,
                                check=r.check, automatic=r.automatic))
    audit.record(session, actor=p.actor, action="apps.doctrine.open", object_type="DoctrineVersion",
                 object_id=version, details={"ends_on": ends_on.isoformat()})
    session.flush()
    return row


def comment(session: Session, p: Principal, requirement_id: int, body: str) -> RequirementComment:
    authorize(p, "apps.doctrine.comment")
    req = requirement(session, requirement_id)
    v = version_of(session, req)
    if v.status != "consultation" or (v.consultation_ends_on and v.consultation_ends_on < date.today()):
        raise Conflict("la consultation sur cette version est close", "consultation closed")
    text = body.strip()
    if not 5 <= len(text) <= 4000:
        raise Invalid("un commentaire fait de 5 à 4 000 caractères", "comment length 5..4000")
    row = RequirementComment(requirement_id=req.id, author_id=p.user.id,
                             author_label=p.user.display_name, body=text)
    session.add(row)
    session.flush()
    audit.record(session, actor=p.actor, action="apps.doctrine.comment",
                 object_type="RequirementComment", object_id=row.id)
    return row


def answer(session: Session, p: Principal, comment_id: int, text: str) -> RequirementComment:
    authorize(p, "apps.doctrine.manage")
    row = get_comment(session, comment_id)
    if not 5 <= len(text.strip()) <= 4000:
        raise Invalid("une réponse fait de 5 à 4 000 caractères", "answer length 5..4000")
    row.answer, row.answered_by, row.answered_at = text.strip(), p.user.id, utcnow()
    audit.record(session, actor=p.actor, action="apps.doctrine.answer",
                 object_type="RequirementComment", object_id=row.id)
    return row


def publish(session: Session, p: Principal, version: str) -> DoctrineVersion:
    authorize(p, "apps.doctrine.manage")
    row = get_version(session, version)
    if row.status != "consultation":
        raise Conflict("cette version est déjà publiée", "already published")
    row.status, row.published_at = "published", utcnow()
    audit.record(session, actor=p.actor, action="apps.doctrine.publish",
                 object_type="DoctrineVersion", object_id=version)
    return row


def version_out(session: Session, v: DoctrineVersion) -> dict[str, object]:
    comments = comments_of(session, v)
    return {"version": v.version, "title": v.title, "status": v.status,
            "consultation_ends_on": v.consultation_ends_on.isoformat()
            if v.consultation_ends_on else None,
            "requirements": [{
                "requirement_id": r.id, "id": r.code, "theme": r.theme, "text": r.text,
                "check": r.check, "automatic": r.automatic,
                "comments": [{"id": c.id, "author": c.author_label, "body": c.body,
                              "at": c.created_at.isoformat(), "answer": c.answer or None}
                             for c in comments.get(r.id, [])]}
                for r in requirements(session, v)]}
