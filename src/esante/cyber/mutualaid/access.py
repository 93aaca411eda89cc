"""Who may do what with mutual aid.

The security officer and the director of an establishment post its requests and offers,
and close them. A post is seen by its establishment, by the establishments of its region
and of its GHT and by the regional agency, or by everyone of the cyber community when it
is national; the national cell sees everything. Matching an offer to a request is done by
either establishment, by the regional agency of the request, or by the cell."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from esante.core.accounts.models import Role
from esante.core.policy import Principal, covers, rule

ESTABLISHMENT_STAFF = (Role.SECURITY_OFFICER, Role.DIRECTOR)
BOARD = (*ESTABLISHMENT_STAFF, Role.REGIONAL_OFFICER, Role.CYBER_ANALYST)


@dataclass(frozen=True)
class Place:
    """Where one of the viewer's establishments sits."""

    finess: str
    region_code: str
    ght_id: int | None


@dataclass(frozen=True)
class Seen:
    """A post as seen by a viewer whose establishments are ``places``."""

    post: Any
    places: tuple[Place, ...]


@dataclass(frozen=True)
class Pair:
    request: Any
    offer: Any


def reaches(post: Any, place: Place) -> bool:
    """Whether a post is meant for an establishment (the visibility the author chose)."""
    return (post.visibility == "national" or post.finess == place.finess
            or post.region_code == place.region_code
            or (post.ght_id is not None and post.ght_id == place.ght_id))


def _of_establishment(p: Principal, target: Any) -> bool:
    return any(g.scope_kind == "establishment" and covers(g, finess=target.finess)
               for g in p.grants_for(*ESTABLISHMENT_STAFF))


def _of_region(p: Principal, target: Any) -> bool:
    return any(covers(g, region=target.region_code) for g in p.grants_for(Role.REGIONAL_OFFICER))


def _cell(p: Principal) -> bool:
    return p.has_role(Role.CYBER_ANALYST)


@rule("cyber.aid.board", write=False, label_fr="consulter l'entraide entre établissements")
def _board(p: Principal, _t: Any) -> bool:
    return p.has_role(*BOARD)


@rule("cyber.aid.read", write=False, label_fr="consulter une demande ou une offre d'entraide")
def _read(p: Principal, seen: Seen) -> bool:
    post = seen.post
    if _cell(p) or _of_establishment(p, post) or _of_region(p, post):
        return True
    if post.visibility == "national":
        return p.has_role(*BOARD)
    return any(reaches(post, place) for place in seen.places)


@rule("cyber.aid.create", write=True,
      label_fr="publier une demande ou une offre d'entraide pour son établissement")
def _create(p: Principal, est: Any) -> bool:
    return _of_establishment(p, est)


@rule("cyber.aid.manage", write=True, label_fr="clore une demande ou une offre d'entraide")
def _manage(p: Principal, post: Any) -> bool:
    return _of_establishment(p, post) or _cell(p)


@rule("cyber.aid.match", write=True, label_fr="mettre en relation une offre et une demande")
def _match(p: Principal, pair: Pair) -> bool:
    return (_cell(p) or _of_establishment(p, pair.request) or _of_establishment(p, pair.offer)
            or _of_region(p, pair.request))
