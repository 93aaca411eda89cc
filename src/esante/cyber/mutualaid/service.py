"""Mutual aid: an establishment asks for help or offers it; compatible offers and requests
(same topic, each meant for the other's establishment) are matched; posts are tracked to
closure on a timeline, and the other party is told in the app.

Statuses: open → matched (at least one active match) → closed. Closing a post closes its
matches; a counterpart left without an active match goes back to open."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, false, func, or_, select, true
from sqlalchemy.orm import Session

from esante.core import audit, policy
from esante.core.accounts.models import Role
from esante.core.db import utcnow
from esante.core.errors import Conflict, Invalid, NotFound
from esante.core.notifications import service as notifications
from esante.core.orgs import service as orgs
from esante.core.orgs.models import Establishment
from esante.core.policy import Principal
from esante.cyber.mutualaid.access import ESTABLISHMENT_STAFF, Pair, Place, Seen, reaches
from esante.cyber.mutualaid.models import AidEvent, AidMatch, AidPost
from esante.cyber.mutualaid.schemas import Kind, PostIn

KIND_LABELS = {"request": "Demande d'aide", "offer": "Offre d'aide"}
TOPIC_LABELS = {
    "directory_rebuild": "Reconstruction de l'annuaire (Active Directory, LDAP…)",
    "workstations": "Prêt de postes de travail",
    "crisis_staff": "Renfort en cellule de crise",
    "expertise": "Expertise technique",
    "other": "Autre",
}
VISIBILITY_LABELS = {"territory": "Région et GHT", "national": "Nationale"}
STATUS_LABELS = {"open": "Ouverte", "matched": "Mise en relation", "closed": "Close"}


# --- where the viewer stands -------------------------------------------------------------

def places_of(session: Session, p: Principal) -> tuple[Place, ...]:
    finesses = sorted({g.scope_ref for g in p.grants_for(*ESTABLISHMENT_STAFF)
                       if g.scope_kind == "establishment"})
    if not finesses:
        return ()
    rows = session.scalars(select(Establishment).where(Establishment.finess.in_(finesses)))
    return tuple(Place(e.finess, e.region_code, e.ght_id) for e in rows)


def _place(est: Establishment) -> Place:
    return Place(est.finess, est.region_code, est.ght_id)


def visible(p: Principal, places: tuple[Place, ...]) -> Any:
    """The posts a principal sees, as a condition (the same rule as ``cyber.aid.read``)."""
    if p.has_role(Role.CYBER_ANALYST):
        return true()
    conds: list[Any] = [AidPost.visibility == "national"]
    regions = {g.scope_ref for g in p.grants_for(Role.REGIONAL_OFFICER)}
    regions |= {pl.region_code for pl in places}
    if regions:
        conds.append(AidPost.region_code.in_(sorted(regions)))
    if places:
        conds.append(AidPost.finess.in_(sorted(pl.finess for pl in places)))
    ghts = sorted({pl.ght_id for pl in places if pl.ght_id is not None})
    if ghts:
        conds.append(AidPost.ght_id.in_(ghts))
    return or_(*conds) if policy.can(p, "cyber.aid.board") else false()


# --- posting -----------------------------------------------------------------------------------

def _event(session: Session, post: AidPost, p: Principal | None, kind: str, text: str = "",
           **data: Any) -> None:
    session.add(AidEvent(post_id=post.id, at=utcnow(), actor_id=p.user.id if p else None,
                         actor_label=p.user.display_name if p else "plateforme", kind=kind,
                         text=text, data=data))


def create(session: Session, p: Principal, body: PostIn) -> AidPost:
    est = orgs.get_establishment(session, body.finess)
    policy.authorize(p, "cyber.aid.create", est)
    post = AidPost(kind=body.kind, topic=body.topic, visibility=body.visibility,
                   status="open", establishment_id=est.id, finess=est.finess,
                   region_code=est.region_code, ght_id=est.ght_id, title=body.title.strip(),
                   description=body.description.strip(), contact=body.contact.strip(),
                   created_by=p.user.id)
    session.add(post)
    session.flush()
    _event(session, post, p, "created", f"{KIND_LABELS[post.kind]} publiée "
           f"(diffusion : {VISIBILITY_LABELS[post.visibility].lower()})")
    audit.record(session, actor=p.actor, action="cyber.aid.create", object_type="aid_post",
                 object_id=post.id, details={"finess": est.finess, "kind": post.kind,
                                             "topic": post.topic})
    session.flush()
    return post


def get_post(session: Session, p: Principal, post_id: int) -> AidPost:
    post = session.get(AidPost, post_id)
    if post is None or not policy.can(p, "cyber.aid.read", Seen(post, places_of(session, p))):
        raise NotFound("demande ou offre d'entraide introuvable", "aid post not found")
    return post


def list_posts(session: Session, p: Principal, *, kind: str | None = None,
               topic: str | None = None, status: str | None = None,
               finess: str | None = None, limit: int = 50,
               offset: int = 0) -> tuple[int, list[AidPost]]:
    policy.authorize(p, "cyber.aid.board")
    stmt: Select[Any] = select(AidPost).where(visible(p, places_of(session, p)))
    if kind:
        stmt = stmt.where(AidPost.kind == kind)
    if topic:
        stmt = stmt.where(AidPost.topic == topic)
    if status:
        stmt = stmt.where(AidPost.status == status)
    if finess:
        stmt = stmt.where(AidPost.finess == finess)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = list(session.scalars(stmt.order_by(AidPost.status == "closed",
                                              AidPost.updated_at.desc(), AidPost.id.desc())
                                .limit(limit).offset(offset)))
    return total, rows


def timeline(session: Session, post: AidPost) -> list[AidEvent]:
    return list(session.scalars(select(AidEvent).where(AidEvent.post_id == post.id)
                                .order_by(AidEvent.at, AidEvent.id)))


def matches_of(session: Session, post: AidPost) -> list[AidMatch]:
    column = AidMatch.request_id if post.kind == Kind.REQUEST else AidMatch.offer_id
    return list(session.scalars(select(AidMatch).where(column == post.id).order_by(AidMatch.id)))


def counterpart_ids(session: Session, post: AidPost) -> list[int]:
    return [m.offer_id if post.kind == Kind.REQUEST else m.request_id
            for m in matches_of(session, post)]


# --- matching ----------------------------------------------------------------------------------

def compatible(request: AidPost, offer: AidPost, *, request_est: Establishment,
               offer_est: Establishment) -> str | None:
    """Why an offer cannot serve a request (None: it can)."""
    if request.topic != offer.topic:
        return (f"sujets différents : « {TOPIC_LABELS[request.topic]} » et "
                f"« {TOPIC_LABELS[offer.topic]} »")
    if request.finess == offer.finess:
        return "une offre et une demande du même établissement ne se mettent pas en relation"
    if "closed" in (request.status, offer.status):
        return "la demande ou l'offre est close"
    if not reaches(offer, _place(request_est)) or not reaches(request, _place(offer_est)):
        return ("la diffusion choisie ne le permet pas (ni même région, ni même GHT, "
                "ni diffusion nationale)")
    return None


def candidates(session: Session, p: Principal, post: AidPost) -> list[AidPost]:
    """Open posts of the other kind that could be matched with ``post``."""
    other_kind = Kind.OFFER if post.kind == Kind.REQUEST else Kind.REQUEST
    already = set(counterpart_ids(session, post))
    own = session.get(Establishment, post.establishment_id)
    assert own is not None
    out = []
    for other in session.scalars(select(AidPost).where(
            AidPost.kind == other_kind, AidPost.topic == post.topic,
            AidPost.status != "closed", AidPost.id.not_in(already or {0}),
            visible(p, places_of(session, p))).order_by(AidPost.created_at.desc()).limit(100)):
        other_est = session.get(Establishment, other.establishment_id)
        assert other_est is not None
        pair = (post, other) if post.kind == Kind.REQUEST else (other, post)
        ests = (own, other_est) if post.kind == Kind.REQUEST else (other_est, own)
        if compatible(*pair, request_est=ests[0], offer_est=ests[1]) is None:
            out.append(other)
    return out


def match(session: Session, p: Principal, post: AidPost, other_id: int) -> AidMatch:
    other = get_post(session, p, other_id)
    if post.kind == other.kind:
        raise Invalid("une mise en relation associe une offre à une demande",
                      "a match pairs an offer with a request", code="kind")
    request, offer = (post, other) if post.kind == Kind.REQUEST else (other, post)
    policy.authorize(p, "cyber.aid.match", Pair(request, offer))
    request_est = session.get(Establishment, request.establishment_id)
    offer_est = session.get(Establishment, offer.establishment_id)
    assert request_est is not None and offer_est is not None
    why = compatible(request, offer, request_est=request_est, offer_est=offer_est)
    if why:
        raise Invalid(f"mise en relation impossible : {why}", "these posts cannot be matched",
                      code="incompatible")
    if session.scalar(select(AidMatch.id).where(AidMatch.request_id == request.id,
                                                AidMatch.offer_id == offer.id)):
        raise Conflict("cette offre et cette demande sont déjà en relation", "already matched",
                       code="matched")
    m = AidMatch(request_id=request.id, offer_id=offer.id, matched_by=p.user.id,
                 status="active")
    session.add(m)
    now = utcnow()
    for mine, theirs, est in ((request, offer, offer_est), (offer, request, request_est)):
        mine.status, mine.updated_at = "matched", now
        _event(session, mine, p, "matched", f"mise en relation avec « {theirs.title} » "
               f"({est.name})", other_id=theirs.id)
    audit.record(session, actor=p.actor, action="cyber.aid.match", object_type="aid_post",
                 object_id=request.id, details={"offer": offer.id})
    for side, other_side in ((request, offer), (offer, request)):
        if not _acts_for(p, side):
            _notify(session, side, f"Entraide : mise en relation — {side.title}",
                    f"{KIND_LABELS[other_side.kind]} « {other_side.title} »")
    session.flush()
    return m


def _acts_for(p: Principal, post: AidPost) -> bool:
    return any(g.scope_kind == "establishment" and g.scope_ref == post.finess
               for g in p.grants_for(*ESTABLISHMENT_STAFF))


def _notify(session: Session, post: AidPost, title: str, body: str = "") -> None:
    for role in ESTABLISHMENT_STAFF:
        notifications.notify_role(session, role=role, scope_kind="establishment",
                                  scope_ref=post.finess, title=title, body=body,
                                  link=f"/cyber/entraide/{post.id}")


# --- closure -----------------------------------------------------------------------------------

def close(session: Session, p: Principal, post: AidPost, note: str) -> AidPost:
    policy.authorize(p, "cyber.aid.manage", post)
    if post.status == "closed":
        return post
    now = utcnow()
    post.status, post.closed_at, post.updated_at = "closed", now, now
    _event(session, post, p, "closed", note)
    for m in matches_of(session, post):
        if m.status != "active":
            continue
        m.status, m.closed_at = "closed", now
        other = session.get(AidPost, m.offer_id if post.kind == Kind.REQUEST else m.request_id)
        assert other is not None
        _event(session, other, p, "match_closed", f"« {post.title} » est close : {note}",
               other_id=post.id)
        session.flush()
        if other.status == "matched" and not _has_active_match(session, other):
            other.status, other.updated_at = "open", now
        _notify(session, other, f"Entraide : « {post.title} » est close", note)
    audit.record(session, actor=p.actor, action="cyber.aid.close", object_type="aid_post",
                 object_id=post.id)
    session.flush()
    return post


def _has_active_match(session: Session, post: AidPost) -> bool:
    column = AidMatch.request_id if post.kind == Kind.REQUEST else AidMatch.offer_id
    return bool(session.scalar(select(func.count()).select_from(AidMatch).where(
        column == post.id, AidMatch.status == "active")))
