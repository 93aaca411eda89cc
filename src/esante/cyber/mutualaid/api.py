"""JSON routes of mutual aid (``/api/cyber/aid``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy.orm import Session

from esante.core.orgs import service as orgs
from esante.core.orgs.models import Establishment
from esante.cyber.mutualaid import service
from esante.cyber.mutualaid.models import AidPost
from esante.cyber.mutualaid.schemas import (
    CloseIn,
    EventOut,
    Kind,
    MatchIn,
    PostDetailOut,
    PostIn,
    PostOut,
    Topic,
)
from esante.web.deps import ApiPrincipal, SessionDep

router = APIRouter(prefix="/cyber/aid", tags=["cybervigilance : entraide"])


def post_out(session: Session, post: AidPost) -> PostOut:
    est = session.get(Establishment, post.establishment_id)
    return PostOut(
        id=post.id, kind=post.kind, kind_label=service.KIND_LABELS[post.kind],
        topic=post.topic, topic_label=service.TOPIC_LABELS[post.topic],
        visibility=post.visibility, status=post.status,
        status_label=service.STATUS_LABELS[post.status], finess=post.finess,
        establishment=est.name if est else "", region_code=post.region_code,
        ght=orgs.ght_name(session, est) if est else None, title=post.title,
        description=post.description, contact=post.contact, created_at=post.created_at,
        closed_at=post.closed_at, matched_with=service.counterpart_ids(session, post))


def detail_out(session: Session, post: AidPost) -> PostDetailOut:
    return PostDetailOut(**post_out(session, post).model_dump(), timeline=[
        EventOut(at=e.at, actor=e.actor_label, kind=e.kind, text=e.text, data=e.data)
        for e in service.timeline(session, post)])


@router.get("", summary="Demandes et offres d'entraide visibles")
def list_posts(
    p: ApiPrincipal, session: SessionDep,
    kind: Kind | None = None, topic: Topic | None = None,
    status_: Annotated[str | None, Query(alias="status", pattern="^(open|matched|closed)$")] = None,
    finess: Annotated[str | None, Query(max_length=9)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, object]:
    total, rows = service.list_posts(session, p, kind=kind, topic=topic, status=status_,
                                     finess=finess, limit=limit, offset=offset)
    return {"total": total, "items": [post_out(session, x) for x in rows]}


@router.post("", status_code=status.HTTP_201_CREATED,
             summary="Demander ou offrir de l'aide pour son établissement")
def create(body: PostIn, p: ApiPrincipal, session: SessionDep) -> PostDetailOut:
    return detail_out(session, service.create(session, p, body))


@router.get("/{post_id}", summary="Une demande ou une offre, avec sa chronologie")
def get_post(post_id: int, p: ApiPrincipal, session: SessionDep) -> PostDetailOut:
    return detail_out(session, service.get_post(session, p, post_id))


@router.get("/{post_id}/candidates", summary="Offres (ou demandes) compatibles")
def candidates(post_id: int, p: ApiPrincipal, session: SessionDep) -> list[PostOut]:
    post = service.get_post(session, p, post_id)
    return [post_out(session, x) for x in service.candidates(session, p, post)]


@router.post("/{post_id}/matches", status_code=status.HTTP_201_CREATED,
             summary="Mettre en relation avec une offre (ou une demande)")
def match(post_id: int, body: MatchIn, p: ApiPrincipal, session: SessionDep) -> PostDetailOut:
    post = service.get_post(session, p, post_id)
    service.match(session, p, post, body.other_id)
    return detail_out(session, post)


@router.post("/{post_id}/close", summary="Clore (aide apportée ou besoin disparu)")
def close(post_id: int, body: CloseIn, p: ApiPrincipal, session: SessionDep) -> PostDetailOut:
    post = service.get_post(session, p, post_id)
    return detail_out(session, service.close(session, p, post, body.note))
