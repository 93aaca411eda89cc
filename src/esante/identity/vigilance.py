"""The identity-vigilance queue: candidate duplicates and collisions of one establishment,
and the cell's decisions (merge with a surviving record, link, not a duplicate), each
reversible and audited; nothing is deleted."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from esante.core import audit, policy
from esante.core.db import utcnow
from esante.core.errors import Conflict, Invalid, NotFound
from esante.core.policy import Principal
from esante.identity.duplicates import QUEUED
from esante.identity.models import IdentityEvent, LocalIdentity, VigilancePair

DECISIONS = {"merge": "fusionnés", "link": "liés (deux dossiers, une personne)",
             "not_duplicate": "pas un doublon"}
STATE_LABELS = {"open": "à traiter", **DECISIONS}
KIND_LABELS = {"duplicate": "doublon possible", "collision": "collision possible"}


def _pair_exists(session: Session, a: int, b: int) -> bool:
    return session.scalar(select(VigilancePair.id).where(or_(
        (VigilancePair.first_id == a) & (VigilancePair.second_id == b),
        (VigilancePair.first_id == b) & (VigilancePair.second_id == a)))) is not None


def enqueue(session: Session, identity: LocalIdentity, found: list[Any]) -> list[VigilancePair]:
    """Queue the strong candidates found when an identity was created."""
    pairs = []
    for c in found:
        if not _queued(c) or _pair_exists(session, c.identity.id, identity.id):
            continue
        pair = _candidate_pair(identity, c)
        session.add(pair)
        pairs.append(pair)
    session.flush()
    return pairs


def _collision_kind(c: Any) -> bool:
    # one NIR on two different birth dates: two people sharing an identifier
    return "même NIR" in c.reasons and "même date de naissance" not in c.reasons


def _queued(c: Any) -> bool:
    return c.score >= QUEUED or _collision_kind(c)


def _candidate_pair(identity: LocalIdentity, c: Any) -> VigilancePair:
    return VigilancePair(finess=identity.finess, first_id=c.identity.id, second_id=identity.id,
                         kind="collision" if _collision_kind(c) else "duplicate",
                         score=c.score, reason=", ".join(c.reasons)[:300])


def _collision_pair(identity: LocalIdentity, other: LocalIdentity) -> VigilancePair:
    """Two records with one INS: a duplicate when date and name agree, else a collision."""
    kind = "duplicate" if other.birth_date == identity.birth_date and \
        other.name_key == identity.name_key else "collision"
    return VigilancePair(finess=identity.finess, first_id=other.id, second_id=identity.id,
                         kind=kind, score=100, reason="même INS sur deux dossiers"
                         + ("" if kind == "duplicate" else " aux traits différents"))


def check_collision(session: Session, identity: LocalIdentity) -> None:
    """Another record of the establishment already carries this INS: a collision (one
    INS, two different people) or a duplicate; the cell decides."""
    others = session.scalars(select(LocalIdentity).where(
        LocalIdentity.finess == identity.finess, LocalIdentity.id != identity.id,
        LocalIdentity.nir_hash == identity.nir_hash, LocalIdentity.nir_hash != "",
        LocalIdentity.merged_into_id.is_(None)))
    for other in others:
        if not _pair_exists(session, other.id, identity.id):
            session.add(_collision_pair(identity, other))
    session.flush()


def queue(session: Session, p: Principal, finess: str, *, state: str = "open",
          limit: int = 100) -> list[VigilancePair]:
    policy.authorize(p, "identity.vigilance.read", finess)
    return list(session.scalars(select(VigilancePair).where(
        VigilancePair.finess == finess, VigilancePair.state == state)
        .order_by(VigilancePair.score.desc(), VigilancePair.id).limit(limit)))


def get_pair(session: Session, p: Principal, pair_id: int) -> VigilancePair:
    pair = session.get(VigilancePair, pair_id)
    if pair is None or not policy.can(p, "identity.vigilance.read", pair.finess):
        raise NotFound("paire introuvable dans la file d'identitovigilance", "pair not found")
    return pair


def _log(session: Session, p: Principal, identity_id: int, kind: str, how: str,
         pair: VigilancePair) -> None:
    session.add(IdentityEvent(identity_id=identity_id, actor_id=p.user.id,
                              actor_label=p.user.email, kind=kind, how=how,
                              data={"pair": pair.id}))


def _sync_pair(session: Session, pair: VigilancePair) -> None:
    """A merge or unmerge changes the Patients: the merged one inactive, linked to the
    surviving one (``identity.patient``)."""
    from esante.identity import patient

    for identity_id in (pair.first_id, pair.second_id):
        identity = session.get(LocalIdentity, identity_id)
        if identity is not None:
            patient.sync(session, identity)


def decide(session: Session, p: Principal, pair: VigilancePair, decision: str, *,
           surviving_id: int | None = None) -> VigilancePair:
    policy.authorize(p, "identity.vigilance", pair.finess)
    if pair.state != "open":
        raise Conflict("paire déjà traitée : annulez la décision d'abord",
                       "pair already decided", code="pair-decided")
    if decision not in DECISIONS:
        raise Invalid("décision : merge, link ou not_duplicate", "unknown decision")
    if decision == "merge":
        if surviving_id not in (pair.first_id, pair.second_id):
            raise Invalid("choisissez le dossier conservé (l'un des deux de la paire)",
                          "surviving record must be one of the pair")
        gone_id = pair.second_id if surviving_id == pair.first_id else pair.first_id
        gone = session.get(LocalIdentity, gone_id)
        assert gone is not None
        if gone.merged_into_id is not None:
            raise Conflict("ce dossier est déjà fusionné dans un autre", "already merged")
        gone.merged_into_id, pair.surviving_id = surviving_id, surviving_id
    pair.linked = decision == "link"
    pair.state, pair.decided_by, pair.decided_at = decision, p.user.id, utcnow()
    how = f"identitovigilance : {DECISIONS[decision]}"
    for identity_id in (pair.first_id, pair.second_id):
        _log(session, p, identity_id, decision, how, pair)
    if decision == "merge":
        _sync_pair(session, pair)
    audit.record(session, actor=p.actor, action=f"identity.vigilance.{decision}",
                 object_type="identity_pair", object_id=pair.id,
                 details={"finess": pair.finess, "surviving": surviving_id})
    session.flush()
    return pair


def undo(session: Session, p: Principal, pair: VigilancePair) -> VigilancePair:
    """Back to the queue: an unmerge restores the merged record."""
    policy.authorize(p, "identity.vigilance", pair.finess)
    if pair.state == "open":
        raise Conflict("aucune décision à annuler", "nothing to undo", code="pair-open")
    before = pair.state
    if before == "merge":
        for identity_id in (pair.first_id, pair.second_id):
            identity = session.get(LocalIdentity, identity_id)
            if identity is not None and identity.merged_into_id == pair.surviving_id:
                identity.merged_into_id = None
    pair.state, pair.linked, pair.surviving_id = "open", False, None
    pair.decided_by, pair.decided_at = None, None
    for identity_id in (pair.first_id, pair.second_id):
        _log(session, p, identity_id, "undo", f"annulation de la décision « {DECISIONS[before]} »",
             pair)
    if before == "merge":
        _sync_pair(session, pair)
    audit.record(session, actor=p.actor, action="identity.vigilance.undo",
                 object_type="identity_pair", object_id=pair.id,
                 details={"finess": pair.finess, "undone": before})
    session.flush()
    return pair


def scan(session: Session, p: Principal, finess: str,
         progress: Any = None) -> dict[str, int]:
    """Batch scan of an establishment: each active identity against its blocking
    candidates (duplicates, twins flagged by the engine) and every INS carried by two
    records (collisions). New pairs go to the queue; pairs already decided are left as they
    are.

    The same blocking, scoring and queueing as the desk's ``duplicates.candidates`` and
    ``enqueue``/``check_collision``, but in a few queries for the whole establishment: the
    identities are read and decrypted once, blocked through an in-memory index of their
    keys, and the existing pairs are read once (not one query per identity)."""
    from esante.identity import duplicates
    from esante.identity.service import decode_traits, nir_hash

    policy.authorize(p, "identity.vigilance", finess)
    identities = list(session.scalars(select(LocalIdentity).where(
        LocalIdentity.finess == finess, LocalIdentity.merged_into_id.is_(None))
        .order_by(LocalIdentity.id)))
    traits = {i.id: decode_traits(session, i) for i in identities}
    index: dict[tuple[str, ...], list[LocalIdentity]] = defaultdict(list)
    by_nir: dict[str, list[LocalIdentity]] = defaultdict(list)
    for identity in identities:
        for key in duplicates.own_keys(identity):
            index[key].append(identity)
        if identity.nir_hash:
            by_nir[identity.nir_hash].append(identity)
    known = {frozenset(pair) for pair in session.execute(select(
        VigilancePair.first_id, VigilancePair.second_id).where(VigilancePair.finess == finess))}
    before = len(known)
    for i, identity in enumerate(identities, 1):
        mine = traits[identity.id]
        block = {o.id: o for key in duplicates.block_keys(mine, nir_hash(session, mine.get("matricule", "")))
                 for o in index.get(key, ())}
        # the desk's query: the first BLOCK_LIMIT matches by id, the identity itself included
        chosen = sorted(block)[:duplicates.BLOCK_LIMIT]
        found = [c for c in (duplicates.assess(mine, block[oid], traits[oid])
                             for oid in chosen if oid != identity.id) if c is not None]
        _queue(session, identity, [c for c in duplicates.best(found)
                                   if c.identity.id < identity.id], known)
        for other in by_nir.get(identity.nir_hash, ()) if identity.nir_hash else ():
            if other.id != identity.id and frozenset((other.id, identity.id)) not in known:
                known.add(frozenset((other.id, identity.id)))
                session.add(_collision_pair(identity, other))
        if progress and (i % 200 == 0 or i == len(identities)):
            progress(i)
    session.flush()
    audit.record(session, actor=p.actor, action="identity.vigilance.scan",
                 object_type="establishment", object_id=finess,
                 details={"finess": finess, "identities": len(identities),
                          "new_pairs": len(known) - before})
    return {"identities": len(identities), "new_pairs": len(known) - before}


def _queue(session: Session, identity: LocalIdentity, found: list[Any],
           known: set[frozenset[int]]) -> None:
    """``enqueue``'s rules, with the pairs already known held in memory."""
    for c in found:
        if not _queued(c) or frozenset((c.identity.id, identity.id)) in known:
            continue
        known.add(frozenset((c.identity.id, identity.id)))
        session.add(_candidate_pair(identity, c))
