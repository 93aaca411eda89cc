"""The holder's objection to the reuse of her health data for research, recorded from her
space: it feeds the data hub's opt-out register (``esante.datahub.optout``: an HMAC of
her NIR, never the number), which the hub's pipeline reads at extraction time. Her NIR
is the INS of her qualified identity: she types nothing. Recorded and withdrawn at will,
audited by the register."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from esante.core.errors import Conflict
from esante.core.policy import Principal
from esante.datahub import optout
from esante.datahub.models import OptOut
from esante.fhir.store import Store
from esante.space.models import Space
from esante.space.service import qualified_ins

CHANNEL = "espace"


def _nir(session: Session, space: Space) -> str:
    row = Store(session).row("Patient", space.patient_fid)
    ins = qualified_ins(Store(session).to_stored(row).resource) if row and not row.deleted \
        else None
    if ins is None:
        raise Conflict("votre identité n'est plus qualifiée : opposez-vous depuis la page de "
                       "l'entrepôt de données", "no qualified INS", code="ins-not-qualified")
    return optout.normalise_nir(ins)


def current(session: Session, p: Principal, space: Space) -> OptOut | None:
    """Her objection in force for her own NIR, if any."""
    return session.scalar(select(OptOut).where(
        OptOut.digest == optout.digest("nir", _nir(session, space)),
        OptOut.user_id == p.user.id, OptOut.withdrawn_at.is_(None)))


def object_to(session: Session, p: Principal, space: Space) -> OptOut:
    return optout.record(session, p, nir=_nir(session, space), channel=CHANNEL)


def withdraw(session: Session, p: Principal, space: Space) -> OptOut:
    row = current(session, p, space)
    if row is None:
        raise Conflict("aucune opposition en cours à retirer", "no objection",
                       code="no-objection")
    return optout.withdraw(session, p, row.id)
