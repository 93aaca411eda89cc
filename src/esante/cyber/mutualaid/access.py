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
from esante.core.policy import Principal, rule
from esante.cyber.scopes import ESTABLISHMENT_STAFF, in_cell, officer_of_region, staff_of

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


@rule("cyber.aid.board", write=False, label_fr="consulter l'entraide entre établissements")
def _board(p: Principal, _t: Any) -> bool:
    return p.has_role(*BOARD)


@rule("cyber.aid.read", write=False, label_fr="consulter une demande ou une offre d'entraide")
def _read(p: Principal, seen: Seen) -> bool:
    post = seen.post
    if in_cell(p) or staff_of(p, post.finess) or officer_of_region(p, post.region_code):
        return True
    if post.visibility == "national":
        return p.has_role(*BOARD)
    return any(reaches(post, place) for place in seen.places)


@rule("cyber.aid.create", write=True,
      label_fr="publier une demande ou une offre d'entraide pour son établissement")
def _create(p: Principal, est: Any) -> bool:
    return staff_of(p, est.finess)


@rule("cyber.aid.manage", write=True, label_fr="clore une demande ou une offre d'entraide")
def _manage(p: Principal, post: Any) -> bool:
    return staff_of(p, post.finess) or in_cell(p)


@rule("cyber.aid.match", write=True, label_fr="mettre en relation une offre et une demande")
def _match(p: Principal, pair: Pair) -> bool:
    return (in_cell(p) or staff_of(p, pair.request.finess) or staff_of(p, pair.offer.finess)
            or officer_of_region(p, pair.request.region_code))
