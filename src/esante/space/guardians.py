"""Guardians of a minor's space: a parent or legal guardian, recorded by an agent with its
proof (``esante space guardian add``, ``POST /api/space/guardians``), sees and manages the
minor's space (the FHIR access layer lets an active guardian reach the record as its
holder would). Every opening of a minor's space by a guardian is audited. When the minor
turns 18 (the Patient's ``birthDate``), the hand-over ends every guardianship: the space is
hers alone (``esante space handover``, daily in the worker)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from esante.core import audit
from esante.core.accounts.models import Role, User
from esante.core.audit import Actor
from esante.core.db import utcnow
from esante.core.errors import Conflict, Invalid, NotFound
from esante.core.policy import Principal, authorize
from esante.fhir.store import Store
from esante.space import access  # noqa: F401 - registers the space's permissions
from esante.space.models import Guardianship, Space
from esante.space.service import get_by_patient, need_second_factor

MAJORITY = 18


def birth_date(session: Session, patient_fid: str) -> date | None:
    row = Store(session).row("Patient", patient_fid)
    if row is None or row.deleted:
        return None
    raw = Store(session).to_stored(row).resource.get("birthDate")
    try:
        return date.fromisoformat(str(raw)) if raw and len(str(raw)) == 10 else None
    except ValueError:
        return None


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def active(session: Session, *, patient_fid: str, user_id: int) -> Guardianship | None:
    return session.scalar(select(Guardianship).where(
        Guardianship.patient_fid == patient_fid, Guardianship.user_id == user_id,
        Guardianship.ended_at.is_(None)))


def add(session: Session, *, patient_fid: str, email: str, proof: str, since: date,
        actor: Actor, today: date | None = None) -> Guardianship:
    """Records that the account ``email`` is a guardian of the minor whose record is
    ``patient_fid``, since ``since``, on the strength of ``proof``."""
    from esante.core.accounts import service as accounts

    today = today or utcnow().date()
    proof = proof.strip()
    if not proof:
        raise Invalid("indiquez la pièce justificative (livret de famille, jugement…)",
                      "a proof is required", code="proof")
    if since > today:
        raise Invalid("la date de début de la tutelle ne peut pas être dans le futur",
                      "since is in the future", code="since")
    space = get_by_patient(session, patient_fid)
    if space.status == "closed":
        raise Conflict("cet espace est clôturé", "space closed", code="space-state")
    born = birth_date(session, patient_fid)
    if born is None:
        raise Conflict("date de naissance inconnue : impossible de vérifier la minorité",
                       "no birth date", code="birth-date")
    if age_on(born, today) >= MAJORITY:
        raise Conflict("ce patient est majeur : pas de tuteur pour son espace",
                       "patient is of age", code="of-age")
    user = accounts.get_user_by_email(session, email.strip())
    if user is None or not Principal.of(user).has_role(Role.CITIZEN):
        raise NotFound("aucun compte citoyen pour cette adresse", "no citizen account",
                       code="user")
    if space.holder_id == user.id:
        raise Conflict("ce compte est le titulaire de l'espace", "holder", code="holder")
    if active(session, patient_fid=patient_fid, user_id=user.id) is not None:
        raise Conflict("ce compte est déjà tuteur de cet espace", "already a guardian",
                       code="already")
    g = Guardianship(space_id=space.id, patient_fid=patient_fid, user_id=user.id,
                     proof=proof[:200], since=since, recorded_at=utcnow())
    session.add(g)
    session.flush()
    audit.record(session, actor=actor, action="space.guardian-add", object_type="space",
                 object_id=space.id, patient_ref=f"Patient/{patient_fid}",
                 details={"guardian": user.id})
    return g


def _end(session: Session, g: Guardianship, *, actor: Actor, reason: str) -> None:
    g.ended_at, g.end_reason = utcnow(), reason
    audit.record(session, actor=actor, action=f"space.guardian-{reason}", object_type="space",
                 object_id=g.space_id, patient_ref=f"Patient/{g.patient_fid}",
                 details={"guardian": g.user_id})


def remove(session: Session, *, guardianship_id: int, actor: Actor) -> Guardianship:
    g = session.get(Guardianship, guardianship_id)
    if g is None or g.ended_at is not None:
        raise NotFound("aucune tutelle en cours sous ce numéro", "no such guardianship")
    _end(session, g, actor=actor, reason="removed")
    session.flush()
    return g


def remove_by(session: Session, *, patient_fid: str, email: str, actor: Actor) -> Guardianship:
    from esante.core.accounts import service as accounts

    user = accounts.get_user_by_email(session, email.strip())
    g = active(session, patient_fid=patient_fid, user_id=user.id) if user else None
    if g is None:
        raise NotFound("ce compte n'est pas tuteur de cet espace", "not a guardian")
    return remove(session, guardianship_id=g.id, actor=actor)


def of_space(session: Session, space: Space) -> list[tuple[Guardianship, User]]:
    """The space's current guardians (each guardian sees who else holds the delegation)."""
    return [(g, u) for g, u in session.execute(
        select(Guardianship, User).join(User, User.id == Guardianship.user_id).where(
            Guardianship.space_id == space.id, Guardianship.ended_at.is_(None)).order_by(
            Guardianship.id)).all()]


def minors_of(session: Session, p: Principal) -> list[Space]:
    """The spaces this account is an active guardian of."""
    authorize(p, "space.guardian.list")
    return list(session.scalars(select(Space).join(
        Guardianship, Guardianship.space_id == Space.id).where(
        Guardianship.user_id == p.user.id, Guardianship.ended_at.is_(None),
        Space.status != "closed").order_by(Space.id)))


def require(session: Session, p: Principal, patient_fid: str, *, write: bool = False,
            second_factor: bool = False) -> Space:
    """A minor's space opened by one of her guardians, behind the second factor (TOTP at
    login, or ``second_factor``: the e-mailed code passed in this browser session); the
    opening is audited as the guardian acting for the minor (the minor, once of age, sees
    it in her access history)."""
    space = session.scalar(select(Space).where(Space.patient_fid == patient_fid[:64]))
    g = active(session, patient_fid=space.patient_fid, user_id=p.user.id) if space else None
    authorize(p, "space.guardian.manage" if write else "space.guardian.use",
              (space, g is not None))
    assert space is not None
    need_second_factor(p, second_factor, own=False)
    audit.record(session, actor=p.actor, action="space.guardian-access", object_type="space",
                 object_id=space.id, patient_ref=f"Patient/{space.patient_fid}",
                 details={"acting_for": f"Patient/{space.patient_fid}", "write": write})
    return space


def patient_name(session: Session, patient_fid: str) -> str:
    """The minor's name as her record gives it (for the space selector)."""
    row = Store(session).row("Patient", patient_fid)
    if row is None or row.deleted:
        return ""
    names = Store(session).to_stored(row).resource.get("name") or [{}]
    n = names[0]
    return " ".join([*n.get("given", []), n.get("family", "")]).strip()


def delegation(session: Session, space: Space) -> list[tuple[Guardianship, User]]:
    """Every guardianship of the space, current and ended (the delegation page)."""
    return [(g, u) for g, u in session.execute(
        select(Guardianship, User).join(User, User.id == Guardianship.user_id).where(
            Guardianship.space_id == space.id).order_by(
            Guardianship.ended_at.is_not(None), Guardianship.id)).all()]


def hand_over(session: Session, *, actor: Actor, today: date | None = None) -> list[dict[str, Any]]:
    """Ends the guardianships of every minor who turned 18: the space is hers alone."""
    today = today or utcnow().date()
    ended: list[dict[str, Any]] = []
    for g in session.scalars(select(Guardianship).where(Guardianship.ended_at.is_(None))
                             .order_by(Guardianship.id)).all():
        born = birth_date(session, g.patient_fid)
        if born is not None and age_on(born, today) >= MAJORITY:
            _end(session, g, actor=actor, reason="majority")
            ended.append({"guardianship": g.id, "patient": g.patient_fid, "user": g.user_id})
    session.flush()
    return ended
