"""Real-time duplicate candidates: a blocking query on indexed keys, then a simple score.

Blocks (each an indexed lookup inside the establishment): same birth date, birth date with
day and month swapped, same keyed NIR hash, same first letters of birth name and first
name in the same birth year. Each candidate is scored by the probabilistic engine
(``identity/matching``: the match probability, in percent) and explained by ``score``'s
French reasons."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from esante.identity.models import LocalIdentity
from esante.identity.traits import name_key

SHOWN = 45  # a candidate shown to the desk (match probability, %)
QUEUED = 60  # a pair put in the vigilance queue
BLOCK_LIMIT = 300


def _swapped(birth_date: str) -> str:
    y, m, d = birth_date.split("-")
    return f"{y}-{d}-{m}" if d != m and 1 <= int(d) <= 12 else ""


def score(a: dict[str, Any], b: dict[str, Any]) -> tuple[int, list[str]]:
    """0-100 and the reasons, in French."""
    points = 0
    why: list[str] = []
    if a.get("matricule") and b.get("matricule"):
        if a["matricule"][:13] == b["matricule"][:13]:
            points, why = points + 45, [*why, "même NIR"]
        else:
            points, why = points - 40, [*why, "NIR différents"]
    names_a = {a["birth_name"], a.get("used_name") or a["birth_name"]}
    names_b = {b["birth_name"], b.get("used_name") or b["birth_name"]}
    if a["birth_name"] == b["birth_name"]:
        points, why = points + 20, [*why, "même nom de naissance"]
    elif names_a & names_b:
        points, why = points + 15, [*why, "nom d'usage commun"]
    elif name_key(a["birth_name"]) == name_key(b["birth_name"]):
        points, why = points + 8, [*why, "noms proches"]
    first_a, first_b = a["first_names"], b["first_names"]
    if first_a[:1] == first_b[:1]:
        points, why = points + 20, [*why, "même premier prénom"]
    elif set(first_a) & set(first_b):
        points, why = points + 10, [*why, "un prénom commun"]
    if a["birth_date"] == b["birth_date"]:
        points, why = points + 20, [*why, "même date de naissance"]
    elif _swapped(a["birth_date"]) == b["birth_date"]:
        points, why = points + 10, [*why, "jour et mois inversés"]
    if a["sex"] != b["sex"]:
        points, why = points - 20, [*why, "sexes différents"]
    if a.get("birth_place") and b.get("birth_place"):
        same = a["birth_place"] == b["birth_place"]
        points, why = points + (10 if same else -5), [*why, "même lieu de naissance" if same
                                                      else "lieux de naissance différents"]
    return max(0, min(100, points)), why


def blocking(finess: str, traits: dict[str, Any], hashed_nir: str) -> Any:
    year = traits["birth_date"][:4]
    conds = [LocalIdentity.birth_date == traits["birth_date"],
             and_(LocalIdentity.name_key == name_key(traits["birth_name"]),
                  LocalIdentity.first_key == name_key(traits["first_names"][0]),
                  LocalIdentity.birth_date.between(f"{year}-00-00", f"{year}-99-99"))]
    if swapped := _swapped(traits["birth_date"]):
        conds.append(LocalIdentity.birth_date == swapped)
    if hashed_nir:
        conds.append(LocalIdentity.nir_hash == hashed_nir)
    return (select(LocalIdentity).where(LocalIdentity.finess == finess,
                                        LocalIdentity.merged_into_id.is_(None), or_(*conds))
            .order_by(LocalIdentity.id).limit(BLOCK_LIMIT))


def block_keys(traits: dict[str, Any], hashed_nir: str) -> list[tuple[str, ...]]:
    """The keys of ``blocking``'s conditions, for an in-memory index of many identities
    (``vigilance.scan``): two identities are blocked together when they share one."""
    date = traits["birth_date"]
    keys = [("date", date), ("names", name_key(traits["birth_name"]),
                             name_key(traits["first_names"][0]), date[:4])]
    if swapped := _swapped(date):
        keys.append(("date", swapped))
    if hashed_nir:
        keys.append(("nir", hashed_nir))
    return keys


def own_keys(identity: LocalIdentity) -> list[tuple[str, ...]]:
    """The keys under which an identity is found by ``block_keys`` (its clear columns)."""
    keys = [("date", identity.birth_date),
            ("names", identity.name_key, identity.first_key, identity.birth_date[:4])]
    if identity.nir_hash:
        keys.append(("nir", identity.nir_hash))
    return keys


def columns(traits: dict[str, Any]) -> dict[str, object]:
    """Traits as the matching engine reads them (its file's columns)."""
    return {"birth_name": traits.get("birth_name"), "used_name": traits.get("used_name"),
            "first_names": " ".join(traits.get("first_names") or []),
            "sex": traits.get("sex"), "birth_date": traits.get("birth_date"),
            "birth_place": traits.get("birth_place"), "nir": traits.get("matricule")}


TWINS = "jumeaux possibles (même date et même nom, premiers prénoms différents)"
SAME_NIR = "même NIR"  # one identifier on two records: always shown (duplicate or collision)


def assess(traits: dict[str, Any], identity: LocalIdentity,
           other: dict[str, Any]) -> Any | None:
    """One blocked record against the traits: a ``Candidate`` when it is worth showing.

    The score is the probabilistic engine's match probability (Fellegi-Sunter, the model of
    ``esante identity dedup``), in percent; the reasons, in French, say what agrees and what
    differs. Probable twins (the engine's rule, ``matching.judge_pair``) are shown too, with
    the warning, at the engine's nil probability, so never queued as duplicates (the desk
    must not take one for the other); a record with the same NIR is always shown (a
    duplicate or a collision)."""
    from esante.identity.matching import judge_pair
    from esante.identity.service import Candidate

    _points, why = score(traits, other)
    verdict = judge_pair(columns(traits), columns(other))
    probability = round(100 * verdict.probability)
    if verdict.twins:
        why = [*why, TWINS]
    if probability >= SHOWN or verdict.twins or SAME_NIR in why:
        return Candidate(identity, other, probability, why)
    return None


def best(found: list[Any]) -> list[Any]:
    return sorted(found, key=lambda c: -c.score)[:20]


def candidates(session: Session, finess: str, traits: dict[str, Any],
               exclude_id: int | None = None) -> list[Any]:
    """Likely existing records of this person in the establishment, best first
    (``assess``): one blocking query on the indexed keys."""
    from esante.identity.service import decode_traits, nir_hash

    out = []
    for identity in session.scalars(blocking(finess, traits,
                                             nir_hash(session, traits.get("matricule", "")))):
        if identity.id == exclude_id:
            continue
        found = assess(traits, identity, decode_traits(session, identity))
        if found is not None:
            out.append(found)
    return best(out)
