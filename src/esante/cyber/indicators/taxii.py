"""A TAXII 2.1 read endpoint (``/api/taxii2``): discovery, API root, collections and their
objects, for the STIX tools of establishments and CERTs. Authenticated by API token like
the rest of the API; the objects of a collection are those the caller may see (the same
TLP rule as every read), paginated by event (``limit``, ``next``), filtered by
``added_after`` and ``match[type]``."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from esante.core import audit, policy
from esante.core.errors import DomainError, NotFound
from esante.cyber.indicators import exchange, service
from esante.cyber.indicators.access import audience_of
from esante.cyber.indicators.models import IocEvent
from esante.web.deps import ApiPrincipal, SessionDep

router = APIRouter(prefix="/taxii2", tags=["cybervigilance : TAXII 2.1"])
MEDIA = "application/taxii+json;version=2.1"
ROOT = "cyber"
COLLECTION_ID = "0e6a3c57-6f1c-4f0d-9a35-3b8f5c2e9d41"
COLLECTION = {
    "id": COLLECTION_ID,
    "title": "Indicateurs partagés visibles",
    "description": "Les événements et indicateurs que le titulaire du jeton peut voir "
                   "(TLP 2.0 appliqué), en objets STIX 2.1.",
    "can_read": True, "can_write": False,
    "media_types": ["application/stix+json;version=2.1"],
}


class NotAcceptable(DomainError):
    status = 406
    code = "not-acceptable"


def _taxii(request: Request, body: dict[str, Any], headers: dict[str, str] | None = None
           ) -> Response:
    accept = request.headers.get("accept", "*/*").lower()
    if not any(x in accept for x in ("application/taxii+json", "application/json", "*/*")):
        raise NotAcceptable("TAXII 2.1 : demandez Accept: application/taxii+json;version=2.1",
                            "unsupported Accept header")
    return Response(json.dumps(body, ensure_ascii=False), media_type=MEDIA, headers=headers)


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/api/taxii2"


@router.get("/", summary="TAXII 2.1 : découverte")
def discovery(request: Request, p: ApiPrincipal) -> Response:
    policy.authorize(p, "cyber.ioc.board")
    root = f"{_base(request)}/{ROOT}/"
    return _taxii(request, {"title": "esante — TAXII 2.1",
                            "description": "Indicateurs partagés de la cybervigilance santé",
                            "default": root, "api_roots": [root]})


@router.get(f"/{ROOT}/", summary="TAXII 2.1 : racine d'API")
def api_root(request: Request, p: ApiPrincipal) -> Response:
    policy.authorize(p, "cyber.ioc.board")
    return _taxii(request, {"title": "Cybervigilance", "versions": [MEDIA],
                            "max_content_length": 10 * 1_048_576})


@router.get(f"/{ROOT}/collections/", summary="TAXII 2.1 : collections")
def collections(request: Request, p: ApiPrincipal) -> Response:
    policy.authorize(p, "cyber.ioc.board")
    return _taxii(request, {"collections": [COLLECTION]})


def _collection(p: ApiPrincipal, collection_id: str) -> None:
    policy.authorize(p, "cyber.ioc.board")
    if collection_id != COLLECTION_ID:
        raise NotFound("collection TAXII introuvable", "collection not found")


@router.get(f"/{ROOT}/collections/{{collection_id}}/", summary="TAXII 2.1 : une collection")
def collection(collection_id: str, request: Request, p: ApiPrincipal) -> Response:
    _collection(p, collection_id)
    return _taxii(request, COLLECTION)


@router.get(f"/{ROOT}/collections/{{collection_id}}/objects/",
            summary="TAXII 2.1 : objets STIX visibles (TLP appliqué)")
def objects(
    collection_id: str, request: Request, p: ApiPrincipal, session: SessionDep,
    added_after: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    next_: Annotated[str | None, Query(alias="next", pattern=r"^\d{1,12}$")] = None,
    match_type: Annotated[str | None, Query(alias="match[type]", max_length=200)] = None,
) -> Response:
    """Events are paged (``limit`` events a page); ``next`` is the last event id served."""
    _collection(p, collection_id)
    stmt = service.events_query(audience_of(session, p))
    if added_after is not None:
        stmt = stmt.where(IocEvent.created_at > added_after)
    if next_:
        stmt = stmt.where(IocEvent.id > int(next_))
    events = list(session.scalars(stmt.order_by(IocEvent.id).limit(limit + 1)))
    more, events = len(events) > limit, events[:limit]
    objs: list[dict[str, Any]] = []
    if events:
        bundle = json.loads(exchange.to_stix(exchange.load_pairs(session, events)))
        objs = bundle.get("objects", [])
    if match_type:
        wanted = {t.strip() for t in match_type.split(",")}
        objs = [o for o in objs if o["type"] in wanted]
    body: dict[str, Any] = {"more": more, "objects": objs}
    headers = {}
    if events:
        if more:
            body["next"] = str(events[-1].id)
        headers = {"X-TAXII-Date-Added-First": events[0].created_at.isoformat(),
                   "X-TAXII-Date-Added-Last": events[-1].created_at.isoformat()}
    audit.record(session, actor=p.actor, action="cyber.ioc.taxii", object_type="ioc_event",
                 object_id=",".join(str(e.id) for e in events)[:120] or "-",
                 details={"events": len(events)})
    return _taxii(request, body, headers)
