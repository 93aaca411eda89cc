"""Mailboxes, the whitelist of operator domains and the directory of professional
addresses. A citizen mailbox is opened by the citizen space, only for a qualified INS."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from esante.core import audit, policy
from esante.core.accounts.models import User
from esante.core.audit import Actor
from esante.core.errors import Conflict, Invalid, NotFound
from esante.core.orgs.models import Establishment
from esante.core.policy import Principal
from esante.messaging import access as _access  # noqa: F401 - registers the permissions
from esante.messaging import fhirdir
from esante.messaging.config import MessagingSettings, get_mss_settings
from esante.messaging.models import Mailbox, MailboxMember, OperatorDomain

KINDS = {"personal": "personnelle", "organisational": "organisationnelle",
         "applicative": "applicative", "citizen": "usager"}
PROFESSIONAL_KINDS = ("personal", "organisational", "applicative")
LOCAL_PART = re.compile(r"^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$")
DOMAIN = re.compile(r"^(?=.{3,200}$)[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$")


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()


def is_patient_address(address: str) -> bool:
    return domain_of(address).startswith("patient.")


def is_local(address: str, cfg: MessagingSettings | None = None) -> bool:
    cfg = cfg or get_mss_settings()
    return domain_of(address) in {cfg.domain, cfg.patient_domain}


def by_address(session: Session, address: str) -> Mailbox | None:
    return session.scalar(select(Mailbox).where(Mailbox.address == address.lower()))


def by_addresses(session: Session, addresses: list[str]) -> dict[str, Mailbox | None]:
    """``by_address`` of each address in one query: every address (lowercase) mapped to its
    mailbox or None."""
    found: dict[str, Mailbox | None] = dict.fromkeys(a.strip().lower() for a in addresses)
    found.update((b.address, b) for b in session.scalars(select(Mailbox).where(
        Mailbox.address.in_(list(found)))))
    return found


def create(session: Session, p: Principal, *, kind: str, local_part: str, display_name: str,
           owner_email: str = "", rpps: str = "", profession: str = "", finess: str = "",
           establishment: str = "", town: str = "", members: list[str] | None = None,
           listed: bool = True) -> Mailbox:
    """A professional mailbox (personal, organisational, applicative) on this operator."""
    policy.authorize(p, "messaging.admin")
    if kind not in PROFESSIONAL_KINDS:
        raise Invalid("type de boîte : personal, organisational ou applicative (la boîte d'un "
                      "usager s'ouvre avec son espace santé)", "bad mailbox kind", code="kind")
    local_part = local_part.strip().lower()
    if not LOCAL_PART.match(local_part):
        raise Invalid(f"partie locale d'adresse invalide : {local_part[:64]!r}",
                      "invalid local part", code="address")
    address = f"{local_part}@{get_mss_settings().domain}"
    if by_address(session, address):
        raise Conflict(f"l'adresse {address} existe déjà", "address exists", code="address-taken")
    owner = _user(session, owner_email) if owner_email else None
    if finess:
        place = session.scalar(select(Establishment).where(Establishment.finess == finess))
        if place is None:
            raise NotFound(f"établissement FINESS {finess[:9]} inconnu", "unknown FINESS",
                           code="finess")
        establishment = establishment or place.name
    if kind == "personal" and owner is None:
        raise Invalid("une boîte personnelle a un titulaire (courriel de son compte)",
                      "personal mailbox needs an owner", code="owner")
    box = Mailbox(address=address, kind=kind, display_name=display_name.strip()[:200],
                  owner_user_id=owner.id if owner else None, rpps=rpps or (owner.rpps or "" if owner else ""),
                  profession=profession[:100], finess=finess[:9],
                  establishment=establishment[:200], town=town[:100], listed=listed)
    session.add(box)
    session.flush()
    for email in members or []:
        session.add(MailboxMember(mailbox_id=box.id, user_id=_user(session, email).id))
    audit.record(session, actor=p.actor, action="messaging.mailbox.create",
                 object_type="Mailbox", object_id=box.id, details={"kind": kind})
    fhirdir.publish(session, box)
    session.flush()
    return box


def _user(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"compte {email[:100]} introuvable", "user not found", code="user")
    return user


def citizen_address(matricule: str, cfg: MessagingSettings | None = None) -> str:
    cfg = cfg or get_mss_settings()
    return f"{matricule}@{cfg.patient_domain}"


def open_citizen_mailbox(session: Session, *, user: User, identity: object,
                         actor: Actor) -> Mailbox:
    """Open (or return) the citizen's mailbox ``<INS matricule>@patient.<domain>``. Called by
    the citizen space. ``identity`` is a local identity: its INS goes through the one gate
    (``identity.status.outward_ins``), so only a qualified identity opens a mailbox."""
    from esante.identity import service as identities
    from esante.identity.models import LocalIdentity

    if not isinstance(identity, LocalIdentity):
        raise Invalid("identité locale attendue", "a LocalIdentity is expected")
    ins = identities.outward_ins_or_none(session, identity)
    if ins is None:
        raise Conflict("la boîte aux lettres d'un usager ne s'ouvre que pour une identité "
                       "qualifiée (INS qualifié)", "citizen mailbox needs a qualified INS",
                       code="ins-not-qualified")
    return _open_citizen(session, user=user, matricule=ins["matricule"], actor=actor)


def open_citizen_mailbox_for_patient(session: Session, *, user: User, patient: dict[str, Any],
                                     actor: Actor) -> Mailbox | None:
    """The same, for the holder of a citizen space: the INS of her FHIR Patient, read
    through the space's gate (a qualified identity only); None when it is not qualified."""
    from esante.space.service import qualified_ins

    matricule = qualified_ins(patient)
    if matricule is None:
        return None
    return _open_citizen(session, user=user, matricule=matricule, actor=actor)


def _open_citizen(session: Session, *, user: User, matricule: str, actor: Actor) -> Mailbox:
    address = citizen_address(matricule)
    box = by_address(session, address)
    if box is not None:
        if box.owner_user_id != user.id:
            raise Conflict("cette adresse d'usager appartient à un autre compte",
                           "citizen address held by another account", code="address-taken")
        box.active = True
        return box
    box = Mailbox(address=address, kind="citizen", display_name=user.display_name[:200],
                  owner_user_id=user.id, listed=False)
    session.add(box)
    session.flush()
    audit.record(session, actor=actor, action="messaging.mailbox.open-citizen",
                 object_type="Mailbox", object_id=box.id, subject_user_id=user.id)
    return box


def of_user(session: Session, p: Principal) -> list[Mailbox]:
    member = select(MailboxMember.mailbox_id).where(MailboxMember.user_id == p.user.id)
    return list(session.scalars(select(Mailbox).where(
        Mailbox.active.is_(True),
        or_(Mailbox.owner_user_id == p.user.id, Mailbox.id.in_(member))).order_by(Mailbox.id)))


def get(session: Session, p: Principal, mailbox_id: int, *, write: bool = False) -> Mailbox:
    box = session.get(Mailbox, mailbox_id)
    if box is None:
        raise NotFound("boîte aux lettres introuvable", "mailbox not found")
    policy.authorize(p, "messaging.mailbox.send" if write else "messaging.mailbox.use",
                     (session, box))
    return box


def list_all(session: Session, p: Principal, *, limit: int = 200) -> list[Mailbox]:
    policy.authorize(p, "messaging.admin.read")
    return list(session.scalars(select(Mailbox).order_by(Mailbox.id).limit(limit)))


# --- the trust space ----------------------------------------------------------------------

def add_domain(session: Session, p: Principal, *, domain: str, operator: str) -> OperatorDomain:
    policy.authorize(p, "messaging.admin")
    domain = domain.strip().lower().rstrip(".")
    if not DOMAIN.match(domain):
        raise Invalid(f"nom de domaine invalide : {domain[:80]!r}", "invalid domain",
                      code="domain")
    if session.scalar(select(OperatorDomain).where(OperatorDomain.domain == domain)):
        raise Conflict(f"le domaine {domain} est déjà dans l'espace de confiance",
                       "domain already trusted", code="domain-exists")
    row = OperatorDomain(domain=domain, operator=operator.strip()[:200] or domain,
                         added_by=p.user.id)
    session.add(row)
    audit.record(session, actor=p.actor, action="messaging.domain.add",
                 object_type="OperatorDomain", object_id=domain)
    session.flush()
    return row


def remove_domain(session: Session, p: Principal, *, domain: str) -> None:
    policy.authorize(p, "messaging.admin")
    row = session.scalar(select(OperatorDomain).where(OperatorDomain.domain == domain.lower()))
    if row is None:
        raise NotFound(f"domaine {domain[:80]} absent de l'espace de confiance",
                       "domain not trusted")
    session.delete(row)
    audit.record(session, actor=p.actor, action="messaging.domain.remove",
                 object_type="OperatorDomain", object_id=row.domain)
    session.flush()


def domains(session: Session) -> list[OperatorDomain]:
    return list(session.scalars(select(OperatorDomain).order_by(OperatorDomain.domain)))


def is_trusted(session: Session, domain: str) -> bool:
    """Our own domains, and the whitelisted operators' (with their patient sub-domain)."""
    domain = domain.lower()
    if is_local(f"x@{domain}"):
        return True
    base = domain.removeprefix("patient.")
    return session.scalar(select(OperatorDomain.id).where(
        OperatorDomain.domain.in_({domain, base}))) is not None


# --- the directory ------------------------------------------------------------------------

def search_directory(session: Session, p: Principal, *, q: str = "", rpps: str = "",
                     profession: str = "", establishment: str = "", town: str = "",
                     limit: int = 50) -> list[Mailbox]:
    policy.authorize(p, "messaging.directory.read")
    stmt = select(Mailbox).where(Mailbox.listed.is_(True), Mailbox.active.is_(True),
                                 Mailbox.kind.in_(PROFESSIONAL_KINDS))
    for column, value in ((Mailbox.display_name, q), (Mailbox.profession, profession),
                          (Mailbox.establishment, establishment), (Mailbox.town, town)):
        if value.strip():
            stmt = stmt.where(column.ilike(f"%{_like(value.strip())}%", escape="\\"))
    if rpps.strip():
        stmt = stmt.where(Mailbox.rpps == rpps.strip())
    return list(session.scalars(stmt.order_by(Mailbox.display_name).limit(limit)))


def _like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def sending_software(session: Session, p: Principal, *, days: int = 30) -> list[tuple[str, str, int]]:
    """Messages of the last ``days`` per sending software (X-MSS-NIL, "" when absent) and
    way in: what the operator needs to tell which software sends what, and the trust
    space's manager to follow deployment. Counts only: nothing personal."""
    from datetime import timedelta

    from sqlalchemy import func

    from esante.core.db import utcnow
    from esante.messaging.models import Message

    policy.authorize(p, "messaging.admin.read")
    if not 1 <= days <= 3660:
        raise Invalid("période : de 1 à 3660 jours", "days between 1 and 3660", code="days")
    rows = session.execute(
        select(Message.mss_nil, Message.received_via, func.count())
        .where(Message.created_at >= utcnow() - timedelta(days=days),
               Message.report_kind == "")
        .group_by(Message.mss_nil, Message.received_via)
        .order_by(func.count().desc(), Message.mss_nil)).all()
    return [(nil, via, int(n)) for nil, via, n in rows]
