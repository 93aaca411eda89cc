"""Demo data of the identity domain: the reference directory's synthetic population and a
few local identities of the anchor establishment (a qualified one, a provisional one, a
duplicate waiting in the vigilance queue)."""

from __future__ import annotations

import os
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from esante.core.accounts.models import User
from esante.core.policy import Principal
from esante.identity import population, service
from esante.identity.models import LocalIdentity, ReferencePerson
from esante.identity.traits import Traits

# People in the demo directory; ``ESANTE_DEMO_DIRECTORY_PEOPLE`` changes it (docs/identity.md).
DEFAULT_PEOPLE = 100_000


def demo_people() -> int:
    raw = os.environ.get("ESANTE_DEMO_DIRECTORY_PEOPLE", "")
    return int(raw) if raw.isdigit() else DEFAULT_PEOPLE


def seed_directory(session: Session, progress: Callable[[int], None] | None = None) -> int:
    """Fill the directory up to the demo size (idempotent)."""
    have = session.scalar(select(func.count()).select_from(ReferencePerson)) or 0
    wanted = demo_people() - have
    return population.seed(session, people=wanted, rng_seed=have + 1,
                           progress=progress) if wanted > 0 else 0


def seed_local(session: Session, *, finess: str, clerk_email: str) -> int:
    """Three local identities at ``finess`` made by the desk, once."""
    clerk = session.scalar(select(User).where(User.email == clerk_email))
    if clerk is None or session.scalar(select(LocalIdentity.id).where(
            LocalIdentity.finess == finess)) is not None:
        return 0
    p = Principal.of(clerk)
    people = session.scalars(select(ReferencePerson).order_by(ReferencePerson.id).limit(2)).all()
    made = 0
    for i, person in enumerate(people):
        identity, _ = service.create(
            session, p, finess=finess, document="CNI" if i == 0 else "",
            traits=Traits(person.birth_name, person.first_names.split(" "), person.sex,
                          person.birth_date, person.birth_place))
        if i == 0:
            service.match_directory(session, p, identity)
        made += 1
    if people:  # the same person typed again with one first name: a duplicate to work on
        first = people[0]
        service.create(session, p, finess=finess, traits=Traits(
            first.birth_name, first.first_names.split(" ")[:1], first.sex, first.birth_date,
            first.birth_place))
        made += 1
    return made
