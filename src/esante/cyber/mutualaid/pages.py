"""Pages of mutual aid (French, DSFR): the board of requests and offers the viewer sees,
the form to ask or offer, and a post's page with its matches, candidates and closure."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from pydantic import ValidationError
from sqlalchemy import select
from starlette.responses import RedirectResponse, Response

from esante.core import policy
from esante.core.errors import DomainError, Forbidden, Invalid
from esante.core.orgs import service as orgs
from esante.core.orgs.models import Establishment
from esante.core.policy import Principal
from esante.cyber.mutualaid import service
from esante.cyber.mutualaid.access import ESTABLISHMENT_STAFF, Pair
from esante.cyber.mutualaid.models import AidPost
from esante.cyber.mutualaid.schemas import PostIn
from esante.web.deps import Csrf, PagePrincipal, SessionDep, WebSessionDep
from esante.web.render import render

router = APIRouter(include_in_schema=False)
BASE = "/cyber/entraide"
LABELS = {"kinds": service.KIND_LABELS, "topics": service.TOPIC_LABELS,
          "visibilities": service.VISIBILITY_LABELS, "status_labels": service.STATUS_LABELS}


def _my_establishments(session: SessionDep, p: Principal) -> list[Establishment]:
    finesses = sorted({g.scope_ref for g in p.grants_for(*ESTABLISHMENT_STAFF)
                       if g.scope_kind == "establishment"})
    if not finesses:
        return []
    return list(session.scalars(select(Establishment).where(Establishment.finess.in_(finesses))
                                .order_by(Establishment.name)))


def _names(session: SessionDep, posts: list[AidPost]) -> dict[int, str]:
    ids = {x.establishment_id for x in posts}
    if not ids:
        return {}
    rows = session.execute(select(Establishment.id, Establishment.name).where(
        Establishment.id.in_(ids))).all()
    return {row[0]: row[1] for row in rows}


@router.get(BASE)
def board(request: Request, p: PagePrincipal, session: SessionDep, ws: WebSessionDep,
          kind: str = Query(default="", max_length=10),
          topic: str = Query(default="", max_length=30),
          statut: str = Query(default="", max_length=10)) -> Response:
    total, rows = service.list_posts(
        session, p, kind=kind if kind in service.KIND_LABELS else None,
        topic=topic if topic in service.TOPIC_LABELS else None,
        status=statut if statut in service.STATUS_LABELS else None, limit=200)
    return render(request, "cyber/aid/board.html", {
        "rows": rows, "total": total, "names": _names(session, rows), "kind": kind,
        "topic": topic, "statut": statut, "can_post": bool(_my_establishments(session, p)),
        **LABELS}, principal=p, ws=ws)


def _form(request: Request, p: Principal, session: SessionDep, ws: WebSessionDep, *,
          error: str = "", values: dict[str, str] | None = None,
          status_code: int = 200) -> Response:
    ests = _my_establishments(session, p)
    if not ests:
        raise Forbidden("seuls le RSSI et la direction d'un établissement publient ses demandes "
                        "et offres d'entraide", "only establishment staff post")
    return render(request, "cyber/aid/form.html", {
        "ests": ests, "error": error, "values": values or {}, **LABELS},
        principal=p, ws=ws, status_code=status_code)


@router.get(f"{BASE}/nouveau")
def new_post(request: Request, p: PagePrincipal, session: SessionDep, ws: WebSessionDep,
             kind: str = Query(default="request", max_length=10)) -> Response:
    return _form(request, p, session, ws, values={"kind": kind})


@router.post(f"{BASE}/nouveau", dependencies=[Csrf])
async def create_post(request: Request, p: PagePrincipal, session: SessionDep,
                      ws: WebSessionDep) -> Response:
    form = await request.form()
    values = {k: str(form.get(k) or "") for k in ("finess", "kind", "topic", "visibility",
                                                   "title", "description", "contact")}
    try:
        try:
            body = PostIn.model_validate({**values, "visibility": values["visibility"]
                                          or "territory"})
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(x) for x in first.get("loc", ()))
            raise Invalid(f"formulaire invalide : {where} — {first.get('msg', '')}",
                          "invalid form") from None
        post = service.create(session, p, body)
    except DomainError as exc:
        session.rollback()
        return _form(request, p, session, ws, error=exc.fr, values=values, status_code=422)
    return RedirectResponse(f"{BASE}/{post.id}", status_code=303)


@router.get(f"{BASE}/{{post_id}}")
def post_page(post_id: int, request: Request, p: PagePrincipal, session: SessionDep,
              ws: WebSessionDep) -> Response:
    post = service.get_post(session, p, post_id)
    est = session.get(Establishment, post.establishment_id)
    others = [session.get(AidPost, i) for i in service.counterpart_ids(session, post)]
    matched = [o for o in others if o is not None]
    candidates = service.candidates(session, p, post) if post.status != "closed" else []
    can_match = [c for c in candidates if policy.can(p, "cyber.aid.match", Pair(
        *((post, c) if post.kind == "request" else (c, post))))]
    return render(request, "cyber/aid/post.html", {
        "post": post, "est": est, "ght": orgs.ght_name(session, est) if est else None,
        "events": service.timeline(session, post), "matched": matched,
        "candidates": can_match, "names": _names(session, [*matched, *can_match]),
        "can_close": policy.can(p, "cyber.aid.manage", post) and post.status != "closed",
        "error": request.query_params.get("erreur", "")[:300], **LABELS,
    }, principal=p, ws=ws)


@router.post(f"{BASE}/{{post_id}}/action", dependencies=[Csrf])
async def post_action(post_id: int, request: Request, p: PagePrincipal,
                      session: SessionDep) -> Response:
    form = await request.form()
    action = str(form.get("action") or "")
    post = service.get_post(session, p, post_id)
    try:
        if action == "match":
            raw = str(form.get("other_id") or "")
            if not raw.isdigit():
                raise Invalid("choisissez l'offre ou la demande à mettre en relation",
                              "choose the other post")
            service.match(session, p, post, int(raw))
        elif action == "close":
            note = str(form.get("note") or "").strip()[:5000]
            if not note:
                raise Invalid("indiquez comment l'entraide s'est conclue", "a note is required")
            service.close(session, p, post, note)
        else:
            raise Invalid("action inconnue", "unknown action")
    except DomainError as exc:
        session.rollback()
        return RedirectResponse(f"{BASE}/{post_id}?erreur={quote(exc.fr[:300])}",
                                status_code=303)
    return RedirectResponse(f"{BASE}/{post_id}", status_code=303)
