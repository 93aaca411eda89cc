"""The lifecycle of a citizen space: created for every Patient carrying a qualified INS,
unless the citizen objects during the objection period (recorded, reversible); activated
with the code of the letter by a citizen account that logs in with a second factor;
closed by its holder once everything was downloaded; purged after the legal period."""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from esante.core import audit
from esante.core.audit import Actor
from esante.core.db import utcnow
from esante.core.errors import Conflict, Forbidden, Invalid, NotFound, TooManyRequests
from esante.core.policy import Principal, authorize
from esante.core.settings import Settings, get_settings
from esante.fhir.frcore import INS_SYSTEMS, identity_status
from esante.fhir.links import link_patient
from esante.fhir.models import FhirResource, FhirTokenIndex, PatientLink
from esante.fhir.store import Store
from esante.identity.status import QUAL
from esante.space import access  # noqa: F401 - registers the space's permissions
from esante.space.models import Guardianship, Reminder, Space

STATUS_LABELS = {"pending": "période d'opposition en cours", "objected": "opposition enregistrée",
                 "open": "créé, à activer", "active": "actif", "closed": "clôturé"}
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
CODE_DAYS = 90
MAX_CODE_FAILURES = 5
_CONTEXT = b"esante.space.v1"


def _key(settings: Settings | None = None) -> bytes:
    return hmac.digest((settings or get_settings()).secret_key.encode(), _CONTEXT, "sha256")


def ins_hash(matricule: str) -> str:
    return hmac.digest(_key(), f"ins:{matricule}".encode(), "sha256").hex()


def _code_hash(space_id: int, code: str) -> str:
    return hmac.digest(_key(), f"code:{space_id}:{code}".encode(), "sha256").hex()


def normalise_code(raw: str) -> str:
    return "".join(c for c in raw.upper() if c.isalnum())


def qualified_ins(patient: dict[str, Any]) -> str | None:
    """The INS matricule of a Patient whose identity is qualified, else None: only a
    qualified INS feeds a space (the FHIR-side reading of ``identity.status.outward_ins``)."""
    if identity_status(patient) != QUAL:
        return None
    for ident in patient.get("identifier", []):
        if ident.get("system") in INS_SYSTEMS and ident.get("value"):
            return str(ident["value"])
    return None


# --- creation ------------------------------------------------------------------------------

def provision(session: Session, *, patient_fid: str, actor: Actor,
              settings: Settings | None = None) -> tuple[Space, str]:
    """The space of one Patient (qualified INS), with a fresh activation code for the
    letter. Refused for any other identity."""
    settings = settings or get_settings()
    row = Store(session).row("Patient", patient_fid)
    if row is None or row.deleted:
        raise NotFound(f"dossier Patient/{patient_fid[:64]} introuvable", "patient not found")
    ins = qualified_ins(Store(session).to_stored(row).resource)
    if ins is None:
        raise Conflict("pas d'espace santé sans INS qualifié : l'identité de ce dossier n'est "
                       "pas qualifiée", "a space needs a qualified INS", code="ins-not-qualified")
    space = session.scalar(select(Space).where(Space.patient_fid == patient_fid))
    if space is not None:
        return space, ""
    now = utcnow()
    space = Space(patient_fid=patient_fid, ins_hash=ins_hash(ins), status="pending",
                  objection_until=now + timedelta(days=settings.space_objection_days),
                  created_at=now)
    session.add(space)
    session.flush()
    code = new_code(session, space, actor=actor)
    audit.record(session, actor=actor, action="space.create", object_type="space",
                 object_id=space.id, patient_ref=f"Patient/{patient_fid}")
    return space, code


def candidates(session: Session) -> list[str]:
    """Patients carrying an INS identifier and no space yet (their status is checked on
    the resource itself)."""
    has_ins = select(FhirTokenIndex.res_pk).where(
        FhirTokenIndex.resource_type == "Patient", FhirTokenIndex.param == "identifier",
        FhirTokenIndex.system.in_(INS_SYSTEMS))
    return list(session.scalars(
        select(FhirResource.fid).where(
            FhirResource.resource_type == "Patient", FhirResource.deleted.is_(False),
            FhirResource.pk.in_(has_ins),
            FhirResource.fid.not_in(select(Space.patient_fid))).order_by(FhirResource.pk)))


def provision_all(session: Session, *, actor: Actor) -> tuple[list[tuple[Space, str]], int]:
    """Spaces for every qualified INS without one; the count of identities skipped
    (not qualified). Also ends the objection periods that ran out."""
    made, skipped = [], 0
    for fid in candidates(session):
        try:
            made.append(provision(session, patient_fid=fid, actor=actor))
        except Conflict:
            skipped += 1
    now = utcnow()
    for space in session.scalars(select(Space).where(Space.status == "pending",
                                                     Space.objection_until <= now)):
        space.status = "open"
    session.flush()
    return made, skipped


def new_code(session: Session, space: Space, *, actor: Actor) -> str:
    """A new activation code (the letter); the former one stops working."""
    if space.status in ("active", "closed"):
        raise Conflict(f"espace {STATUS_LABELS[space.status]} : pas de nouveau code",
                       "no code for this space", code="space-state")
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
    space.code_hash = _code_hash(space.id, code)
    space.code_expires_at = utcnow() + timedelta(days=CODE_DAYS)
    space.code_failures = 0
    audit.record(session, actor=actor, action="space.code", object_type="space",
                 object_id=space.id, patient_ref=f"Patient/{space.patient_fid}")
    session.flush()
    return f"{code[:4]}-{code[4:8]}-{code[8:]}"


def get_by_patient(session: Session, patient_fid: str) -> Space:
    space = session.scalar(select(Space).where(Space.patient_fid == patient_fid))
    if space is None:
        raise NotFound(f"aucun espace santé pour Patient/{patient_fid[:64]}", "no space")
    return space


# --- the letter: activate or object ----------------------------------------------------------

def _by_letter(session: Session, *, ins: str, code: str) -> Space:
    """The space the letter names, once its code is checked (limited attempts)."""
    compact = "".join(ins.split())
    if not (len(compact) == 15 and compact[:5].isdigit()):
        raise Invalid("INS invalide : 15 caractères attendus (votre numéro de sécurité sociale)",
                      "invalid INS", code="ins")
    space = session.scalar(select(Space).where(Space.ins_hash == ins_hash(compact)))
    code = normalise_code(code)
    if space is None or not space.code_hash:
        raise Invalid("INS ou code d'activation incorrect", "wrong INS or code", code="code")
    if space.code_failures >= MAX_CODE_FAILURES:
        raise TooManyRequests("trop d'essais : ce code est bloqué, demandez un nouveau code",
                              "too many attempts: ask for a new code", code="code-locked")
    if space.code_expires_at is None or space.code_expires_at < utcnow():
        raise Invalid("code d'activation expiré : demandez un nouveau code", "code expired",
                      code="code-expired")
    if not hmac.compare_digest(space.code_hash, _code_hash(space.id, code)):
        space.code_failures += 1
        left = MAX_CODE_FAILURES - space.code_failures
        audit.record(session, actor=Actor.system("space"), action="space.code-failed",
                     object_type="space", object_id=space.id, outcome="failure",
                     patient_ref=f"Patient/{space.patient_fid}")
        raise Invalid(f"INS ou code d'activation incorrect (encore {left} essai(s))",
                      "wrong INS or code", code="code")
    return space


def activate(session: Session, p: Principal, *, ins: str, code: str) -> Space:
    authorize(p, "space.activate")
    if for_holder(session, p.user) is not None:
        raise Conflict("vous avez déjà un espace santé actif", "already active", code="space-state")
    space = _by_letter(session, ins=ins, code=code)
    if space.status not in ("pending", "open", "objected"):
        raise Conflict(f"cet espace est {STATUS_LABELS[space.status]}", "space not activable",
                       code="space-state")
    now = utcnow()
    space.status, space.holder_id, space.activated_at = "active", p.user.id, now
    space.code_hash, space.code_expires_at = "", None
    space.objected_at = None
    link_patient(session, user=p.user, patient_fid=space.patient_fid, relation="self",
                 actor=p.actor)
    audit.record(session, actor=p.actor, action="space.activate", object_type="space",
                 object_id=space.id, patient_ref=f"Patient/{space.patient_fid}")
    # Her secure-messaging mailbox opens with the space (qualified INS only).
    from esante.fhir.store import Store
    from esante.messaging.mailboxes import open_citizen_mailbox_for_patient

    patient = Store(session).read("Patient", space.patient_fid).resource
    open_citizen_mailbox_for_patient(session, user=p.user, patient=patient, actor=p.actor)
    session.flush()
    return space


def object_to(session: Session, p: Principal, *, ins: str, code: str) -> Space:
    """The citizen objects to the creation of her space (with the letter's code)."""
    authorize(p, "space.activate")
    space = _by_letter(session, ins=ins, code=code)
    return _set_objection(session, space, actor=p.actor, objected=True)


def withdraw_objection(session: Session, p: Principal, *, ins: str, code: str) -> Space:
    authorize(p, "space.activate")
    space = _by_letter(session, ins=ins, code=code)
    return _set_objection(session, space, actor=p.actor, objected=False)


def record_objection(session: Session, *, patient_fid: str, actor: Actor,
                     objected: bool = True) -> Space:
    """An objection received by post, recorded by an agent (``esante space object``)."""
    return _set_objection(session, get_by_patient(session, patient_fid), actor=actor,
                          objected=objected)


def _set_objection(session: Session, space: Space, *, actor: Actor, objected: bool) -> Space:
    now = utcnow()
    if objected:
        if space.status != "pending":
            raise Conflict("l'opposition n'est possible que pendant la période d'opposition "
                           f"(espace {STATUS_LABELS[space.status]}) ; un espace créé se clôture",
                           "objection only during the objection period", code="space-state")
        space.status, space.objected_at = "objected", now
    else:
        if space.status != "objected":
            raise Conflict("aucune opposition à retirer", "no objection", code="space-state")
        space.status = "pending" if space.objection_until > now else "open"
        space.objected_at = None
    audit.record(session, actor=actor, action="space.object" if objected else "space.unobject",
                 object_type="space", object_id=space.id,
                 patient_ref=f"Patient/{space.patient_fid}")
    session.flush()
    return space


# --- the holder ----------------------------------------------------------------------------

def for_holder(session: Session, user: Any) -> Space | None:
    """The holder's active space, reached through her record links (indexed by user) and
    the space of that record (unique ``patient_fid``): ``space_spaces`` has no index on
    ``holder_id``, and scanning a million spaces on every page cost 120 ms. Activation
    always links the holder to the record, and nothing removes the link of an active
    space."""
    mine = select(PatientLink.patient_fid).where(PatientLink.user_id == user.id)
    return session.scalar(select(Space).where(Space.patient_fid.in_(mine),
                                              Space.holder_id == user.id,
                                              Space.status == "active"))


class SecondFactorRequired(Forbidden):
    """The space opens only to a session that logged in with a second factor."""


def require(session: Session, p: Principal, *, write: bool = False,
            second_factor: bool = False) -> Space:
    """The caller's active space, behind the second factor (national identification frame:
    the citizen logs in with two factors): TOTP at login, or ``second_factor`` (the
    e-mailed one-time code, passed in this browser session: ``space.mailcode``)."""
    space = for_holder(session, p.user)
    authorize(p, "space.manage" if write else "space.use", space)
    assert space is not None  # the rule refuses None
    need_second_factor(p, second_factor)
    return space


def need_second_factor(p: Principal, second_factor: bool, *, own: bool = True) -> None:
    """A space opens only behind a second factor: TOTP at login, or ``second_factor`` (the
    e-mailed code passed in this browser session). ``own``: the caller's own space."""
    if not (p.user.totp_confirmed or second_factor):
        whose = "votre espace santé" if own else "l'espace santé"
        raise SecondFactorRequired(
            f"{whose} demande un second facteur : activez la double authentification "
            "(Mon compte), puis reconnectez-vous", "second factor required",
            code="second-factor-required")


def close(session: Session, p: Principal, *, confirm: bool,
          settings: Settings | None = None, second_factor: bool = False) -> Space:
    settings = settings or get_settings()
    space = require(session, p, write=True, second_factor=second_factor)
    if not confirm:
        raise Invalid("confirmez la clôture de votre espace (case à cocher)",
                      "confirm the closure", code="confirm")
    if space.exported_at is None:
        raise Conflict("téléchargez d'abord l'ensemble de vos données (archive ZIP) avant de "
                       "clôturer votre espace", "download everything first", code="export-first")
    now = utcnow()
    space.status, space.closed_at = "closed", now
    space.purge_after = now + timedelta(days=settings.space_retention_days)
    audit.record(session, actor=p.actor, action="space.close", object_type="space",
                 object_id=space.id, patient_ref=f"Patient/{space.patient_fid}")
    session.flush()
    return space


def due_for_purge(session: Session, now: datetime | None = None) -> list[Space]:
    return list(session.scalars(select(Space).where(
        Space.status == "closed", Space.purge_after <= (now or utcnow())).order_by(Space.id)))


def purge(session: Session, *, actor: Actor, now: datetime | None = None,
          dry_run: bool = False) -> list[dict[str, Any]]:
    """Deletes the closed spaces whose legal period ran out: every resource of the
    record (all versions, index rows, Consents), the holder's link, the space itself.
    The audit trail keeps that it happened (never what was inside)."""
    report = []
    for space in due_for_purge(session, now):
        counts = ({} if dry_run else Store(session).expunge_compartment(space.patient_fid))
        report.append({"space": space.id, "patient": space.patient_fid,
                       "closed_at": space.closed_at, "removed": counts})
        if not dry_run:
            audit.record(session, actor=actor, action="space.purge", object_type="space",
                         object_id=space.id, details={"removed": counts})
            session.execute(delete(Reminder).where(Reminder.patient_fid == space.patient_fid))
            session.execute(delete(Guardianship).where(Guardianship.space_id == space.id))
            session.delete(space)
    session.flush()
    return report
