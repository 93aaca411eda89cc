"""Who reaches which FHIR resources, decided by the platform's access policy.

- Directory resources (Practitioner, PractitionerRole, Organization): every signed-in
  user reads them; administrators write them.
- A patient's compartment: the citizen who holds the record (``PatientLink``), a minor's
  active guardians (``space.models.Guardianship``, ended at 18), and
  professionals in a care relationship with her (``CareRelationship``, including a
  justified break-glass, which is time-limited and notified), unless she blocked them;
  resources she hid stay hidden from professionals, except from a document's author when
  she hid it from all of them. Only she writes her Consents.
- A former guardian the patient, once of age, lets read her record (a ``permit`` Consent
  naming that account; ``space.majority``), minus the resources she hid from that person;
  read only.
- A Patient that is an establishment's local identity (``identity.patient``): that
  establishment's identity desk and vigilance cell read it (its traits are their work).
- Everyone else (security, governance, research roles) reaches no clinical data.

Single reads ask ``can``; searches get the same rules as an SQL filter, so hidden
resources are neither returned nor counted.

A SMART app's token (``Principal.smart``) narrows all this further: only the resource types
and interactions its scopes name, and with ``patient/`` scopes only the launch patient's
record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, bindparam, exists, false, or_, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from esante.core.accounts.models import Role
from esante.core.db import UTCDateTime, utcnow
from esante.core.errors import Forbidden
from esante.core.policy import Principal, authorize, can, rule
from esante.fhir.models import CareRelationship, ConsentRule, FhirResource, PatientLink
from esante.fhir.searchparams import DIRECTORY_TYPES

# A minor's guardians (recorded with the citizen space) reach her record as she would.
from esante.space.models import Guardianship

BREAK_GLASS_HOURS = 4

def _facts(patient: Any, rtype: Any, fid: Any, uid: Any, rpps: Any, account: Any,
           now: Any) -> tuple[ColumnElement[bool], ...]:
    """Holder? In care? Blocked by the patient? This resource hidden from this professional?
    Active guardian? Former guardian she lets read it? — about the user ``uid`` (RPPS
    ``rpps``, named ``account`` in Consents: ``a:<id>``) and the resource ``fid`` of
    type ``rtype`` in ``patient``'s record, as SQL conditions. The arguments are columns
    (correlated on a resource's row) or bound parameters; the one place these rules are
    written, for single facts, reads and searches alike."""
    held = exists().where(PatientLink.user_id == uid, PatientLink.patient_fid == patient)
    cared = exists().where(CareRelationship.user_id == uid,
                           CareRelationship.patient_fid == patient,
                           or_(CareRelationship.ends_at.is_(None), CareRelationship.ends_at > now))
    blocked = and_(rpps != "", exists().where(  # a rule names a professional by RPPS
        ConsentRule.patient_fid == patient, ConsentRule.kind == "block-actor",
        ConsentRule.actor_rpps == rpps))
    # A document hidden from every professional stays visible to its author (the RPPS its
    # ``author`` names, recorded beside the hiding rule as ``author-sees``).
    hidden = and_(
        exists().where(ConsentRule.patient_fid == patient, ConsentRule.kind == "hide-resource",
                       ConsentRule.target_type == rtype, ConsentRule.target_fid == fid,
                       or_(ConsentRule.actor_rpps == "", ConsentRule.actor_rpps == rpps)),
        ~exists().where(ConsentRule.patient_fid == patient, ConsentRule.kind == "author-sees",
                        ConsentRule.target_type == rtype, ConsentRule.target_fid == fid,
                        ConsentRule.actor_rpps == rpps, ConsentRule.actor_rpps != ""))
    guarded = exists().where(Guardianship.user_id == uid, Guardianship.patient_fid == patient,
                             Guardianship.ended_at.is_(None))
    # A former guardian the holder, once of age, let read her record (``permit-account``,
    # read only), minus what she hid from that person and minus her Consents (her choices
    # are hers: what she hid from that person stays unknown to that person).
    granted = and_(rtype != "Consent",
                   exists().where(ConsentRule.patient_fid == patient,
                                  ConsentRule.kind == "permit-account",
                                  ConsentRule.actor_rpps == account),
                   ~exists().where(ConsentRule.patient_fid == patient,
                                   ConsentRule.kind == "hide-resource",
                                   ConsentRule.target_type == rtype,
                                   ConsentRule.target_fid == fid,
                                   ConsentRule.actor_rpps == account))
    return held, cared, blocked, hidden, guarded, granted


def _bound_facts(patient: Any, rtype: Any, fid: Any) -> tuple[ColumnElement[bool], ...]:
    return _facts(patient, rtype, fid, bindparam("uid"), bindparam("rpps"), bindparam("acct"),
                  bindparam("now", type_=UTCDateTime()))


# Statements prepared once: building them per request cost more than running them.
_FACTS = select(*_bound_facts(bindparam("pat"), bindparam("rtype"), bindparam("fid")))

# The same facts beside the resource's row, in the read's one query (correlated on the row's
# patient): a read costs one round trip for the row and its access rules.
_ROW_WITH_FACTS = select(FhirResource, *_bound_facts(
    FhirResource.patient_fid, FhirResource.resource_type, FhirResource.fid),
).where(FhirResource.resource_type == bindparam("rtype"), FhirResource.fid == bindparam("fid"))


_ROW = select(FhirResource).where(FhirResource.resource_type == bindparam("rtype"),
                                 FhirResource.fid == bindparam("fid"))


@dataclass(frozen=True)
class Target:
    """A FHIR resource as the rules see it, with the facts about the asking user."""

    resource_type: str
    patient_fid: str | None
    holder: bool = False  # the user holds this patient's record
    in_care: bool = False  # active care relationship
    blocked: bool = False  # the patient blocked this professional
    hidden: bool = False  # the patient hid this resource from this professional
    guardian: bool = False  # the user is an active guardian of this (minor) patient
    granted: bool = False  # a former guardian the (adult) patient lets read this resource


def _is_professional(p: Principal) -> bool:
    return p.has_role(Role.PROFESSIONAL)


@rule("fhir.directory.read", write=False, label_fr="consulter l'annuaire FHIR")
def _directory_read(p: Principal, _t: Any) -> bool:
    return True


@rule("fhir.directory.write", write=True, label_fr="modifier l'annuaire FHIR")
def _directory_write(p: Principal, _t: Any) -> bool:
    return p.has_role(Role.ADMIN)


@rule("fhir.clinical.read", write=False, label_fr="consulter des données de santé")
def _clinical_read(p: Principal, t: Target) -> bool:
    if t.holder or t.guardian or t.granted:
        return True
    return _is_professional(p) and t.in_care and not t.blocked and not t.hidden


@rule("fhir.clinical.write", write=True, label_fr="écrire des données de santé")
def _clinical_write(p: Principal, t: Target) -> bool:
    if t.resource_type == "Consent":
        return t.holder or t.guardian  # only the patient (or her guardian) decides
    if t.resource_type == "Patient":
        # Identity traits are the professionals' (identity vigilance), never the holder's.
        return _is_professional(p) and (t.patient_fid is None or (t.in_care and not t.blocked))
    if t.holder or t.guardian:
        return True
    return _is_professional(p) and t.in_care and not t.blocked and not t.hidden


@rule("fhir.breakglass", write=True, label_fr="accès d'urgence (bris de glace)")
def _break_glass(p: Principal, t: Target) -> bool:
    return _is_professional(p) and not t.blocked


@rule("fhir.group.read", write=False, label_fr="consulter un groupe de patients")
def _group_read(p: Principal, _t: Any) -> bool:
    return p.has_role(Role.ADMIN) or _is_professional(p)


@rule("fhir.group.write", write=True, label_fr="modifier un groupe de patients")
def _group_write(p: Principal, _t: Any) -> bool:
    return p.has_role(Role.ADMIN) or _is_professional(p)


@rule("fhir.export.system", write=False, label_fr="exporter tout l'entrepôt FHIR")
def _export_system(p: Principal, _t: Any) -> bool:
    return p.has_role(Role.ADMIN)


class Access:
    """The FHIR reach of one principal, for one request."""

    def __init__(self, session: Session, principal: Principal) -> None:
        self.session = session
        self.p = principal
        self.rpps = principal.user.rpps or ""
        self.account = f"a:{principal.user.id}"  # how a Consent names this account
        self.professional = _is_professional(principal)

    # --- facts ------------------------------------------------------------------------------

    def holds(self, patient_fid: str) -> bool:
        return bool(self.session.scalar(select(exists().where(
            PatientLink.user_id == self.p.user.id, PatientLink.patient_fid == patient_fid))))

    def target(self, rtype: str, patient_fid: str | None, fid: str | None = None) -> Target:
        """The facts about this user and this patient, in one round trip (a statement
        prepared once: building it per request cost more than running it)."""
        if patient_fid is None:
            return Target(rtype, None)
        row = self.session.execute(_FACTS, {
            "uid": self.p.user.id, "pat": patient_fid, "now": utcnow(), "rpps": self.rpps,
            "rtype": rtype, "fid": fid or "", "acct": self.account}).one()
        if row[0]:
            return Target(rtype, patient_fid, holder=True)
        if row[4]:
            return Target(rtype, patient_fid, guardian=True)
        if row[5]:
            return Target(rtype, patient_fid, granted=True)
        return Target(rtype, patient_fid, in_care=self.professional and bool(row[1]),
                      blocked=bool(row[2]), hidden=bool(row[3]))

    def row_for_read(self, rtype: str, fid: str) -> FhirResource | None:
        """The resource's current row, its reader's rights checked in the same query
        (raises as ``authorize_read`` does); None when there is no such resource."""
        if rtype in DIRECTORY_TYPES or rtype == "Group":
            entry = self.session.scalar(_ROW, {"rtype": rtype, "fid": fid})
            if entry is not None:
                self.authorize_read(rtype, entry.patient_fid, fid)
            return entry
        found = self.session.execute(_ROW_WITH_FACTS, {
            "uid": self.p.user.id, "now": utcnow(), "rpps": self.rpps, "rtype": rtype,
            "fid": fid, "acct": self.account}).first()
        if found is None:
            return None
        row: FhirResource = found[0]
        holder, care, blocked, hidden, guardian, granted = (bool(fact) for fact in found[1:])
        self.authorize_scope(rtype, "r", row.patient_fid)
        if rtype == "Patient" and self._desk_reads(fid):
            return row
        if row.patient_fid is None:
            target = Target(rtype, None)
        elif holder:
            target = Target(rtype, row.patient_fid, holder=True)
        elif guardian:
            target = Target(rtype, row.patient_fid, guardian=True)
        elif granted:
            target = Target(rtype, row.patient_fid, granted=True)
        else:
            target = Target(rtype, row.patient_fid, in_care=self.professional and care,
                            blocked=blocked, hidden=hidden)
        authorize(self.p, "fhir.clinical.read", target)
        return row

    # --- decisions --------------------------------------------------------------------------

    def authorize_scope(self, rtype: str, op: str, patient_fid: str | None = None) -> None:
        """A SMART token's scopes: interaction ``op`` (c r u d s) on ``rtype``."""
        ctx = self.p.smart
        if ctx is not None and not ctx.allows(rtype, op, patient_fid):
            raise Forbidden(f"accès refusé : l'autorisation donnée à l'application ne couvre pas "
                            f"cette opération ({rtype}, {op})",
                            f"insufficient scope for {op} on {rtype}", code="insufficient_scope")

    def authorize_read(self, rtype: str, patient_fid: str | None, fid: str) -> None:
        self.authorize_scope(rtype, "r", patient_fid)
        if rtype in DIRECTORY_TYPES:
            authorize(self.p, "fhir.directory.read")
        elif rtype == "Group":  # a cohort (lists patients): admins and professionals
            authorize(self.p, "fhir.group.read")
        elif rtype == "Patient" and self._desk_reads(fid):
            return
        else:
            authorize(self.p, "fhir.clinical.read", self.target(rtype, patient_fid, fid))

    def _desk_reads(self, fid: str) -> bool:
        """The identity desk of the establishment whose local identity this Patient is."""
        from esante.identity import patient

        if not self.p.has_role(Role.IDENTITY_CLERK, Role.IDENTITY_VIGILANCE):
            return False
        finess = patient.finess_of(self.session, fid)
        return finess is not None and can(self.p, "identity.local.read", finess)

    def authorize_write(self, rtype: str, patient_fid: str | None, fid: str | None,
                        op: str = "u") -> None:
        self.authorize_scope(rtype, op, patient_fid)
        if rtype in DIRECTORY_TYPES:
            authorize(self.p, "fhir.directory.write")
        elif rtype == "Group":
            authorize(self.p, "fhir.group.write")
        else:
            authorize(self.p, "fhir.clinical.write", self.target(rtype, patient_fid, fid))

    def search_filter(self) -> ColumnElement[bool]:
        """The same rules as ``authorize_read``, as a condition on ``FhirResource``."""
        directory = FhirResource.resource_type.in_(sorted(DIRECTORY_TYPES))
        # Correlated EXISTS, not IN (subquery): each candidate row costs one index probe,
        # where IN made PostgreSQL hash all of the user's relationships on every search (a
        # professional in the care of a million patients: a million rows per query).
        held, cared, blocked, hidden, guarded, granted = _facts(
            FhirResource.patient_fid, FhirResource.resource_type, FhirResource.fid,
            self.p.user.id, self.rpps, self.account, utcnow())
        reach: list[ColumnElement[bool]] = [directory, held, guarded]
        if self.p.has_role(Role.CITIZEN):
            reach.append(granted)
        if self.professional or self.p.has_role(Role.ADMIN):
            reach.append(FhirResource.resource_type == "Group")
        if self.professional:
            reach.append(and_(cared, ~blocked, ~hidden))
        desk = self._desk_patients()
        if desk is not None:
            reach.append(and_(FhirResource.resource_type == "Patient", desk))
        if not self.p.user.is_active:
            return false()
        if self.p.smart is not None:
            return and_(or_(*reach), _smart_reach(self.p.smart))
        return or_(*reach)

    def _desk_patients(self) -> ColumnElement[bool] | None:
        from esante.identity import access as identity_access
        from esante.identity import patient

        finesses = identity_access.desk_establishments(self.p)
        return FhirResource.fid.in_(patient.patient_fids_of(finesses)) if finesses else None

    # --- care relationships -----------------------------------------------------------------

    def care_reasons(self, patient_fid: str) -> list[tuple[str, Any]]:
        """Why this professional reaches the record now: (reason, end or None) of each
        active care relationship."""
        if not self.professional:
            return []
        return [(r, e) for r, e in self.session.execute(
            select(CareRelationship.reason, CareRelationship.ends_at).where(
                CareRelationship.user_id == self.p.user.id,
                CareRelationship.patient_fid == patient_fid, _active_care())).all()]

    def declare_care(self, patient_fid: str, reason: str, *, hours: int | None = None) -> None:
        now = utcnow()
        self.session.add(CareRelationship(
            user_id=self.p.user.id, patient_fid=patient_fid, reason=reason[:300], created_at=now,
            ends_at=now + timedelta(hours=hours) if hours else None))
        self.session.flush()


def _smart_reach(ctx: Any) -> ColumnElement[bool]:
    """What a SMART token's scopes let a search return (types, and the launch patient)."""
    reach: list[ColumnElement[bool]] = []
    for rtype, patient in ctx.reach("r"):
        conds: list[ColumnElement[bool]] = []
        if rtype != "*":
            conds.append(FhirResource.resource_type == rtype)
        if patient is not None:
            conds.append(or_(FhirResource.patient_fid == patient,
                             FhirResource.patient_fid.is_(None)))
        reach.append(and_(*conds) if conds else true())
    return or_(*reach) if reach else false()


def _active_care() -> ColumnElement[bool]:
    return or_(CareRelationship.ends_at.is_(None), CareRelationship.ends_at > utcnow())
