"""The holder's privacy choices, each recorded as a FHIR ``Consent`` of her record and
enforced by the FHIR access layer everywhere (pages, reads, searches, ``_include``,
exports): hide a document from professionals, block a professional (by RPPS), declare a
treating doctor or a member of the care team (which opens a care relationship)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from esante.core import audit
from esante.core.accounts.models import Role, User
from esante.core.db import utcnow
from esante.core.errors import Conflict, Invalid
from esante.core.identifiers import validate_rpps
from esante.core.policy import Principal
from esante.fhir.access import Access
from esante.fhir.consent import ACCOUNT_SYSTEM
from esante.fhir.frcore import RPPS_SYSTEM
from esante.fhir.store import fhir_instant
from esante.fhir.values import split_reference
from esante.space.documents import fhir_for
from esante.space.models import Space

ROLE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
CARE_ROLES = {"PCP": "Médecin traitant", "CAREGIVER": "Équipe de soins"}
KIND_LABELS = {"hide": "Document masqué aux professionnels", "block": "Professionnel bloqué",
               "care": "Équipe de soins déclarée"}


@dataclass
class Choice:
    consent_fid: str
    kind: str  # hide, block, care
    target: str  # DocumentReference id, or RPPS
    label: str
    since: str

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]


def _consent(space: Space, provision: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Consent", "status": "active",
            "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                                  "code": "patient-privacy"}]},
            "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
            "patient": {"reference": f"Patient/{space.patient_fid}"},
            "dateTime": fhir_instant(utcnow()),
            "policyRule": {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                "code": "OPTIN"}]},
            "provision": provision}


def _actor(rpps: str, role: str = "PCP") -> dict[str, Any]:
    return {"role": {"coding": [{"system": ROLE_SYSTEM, "code": role}]},
            "reference": {"identifier": {"system": RPPS_SYSTEM, "value": rpps},
                          "display": f"RPPS {rpps}"}}


def _read(c: dict[str, Any]) -> Choice | None:
    """A choice about professionals (the choices about former guardians are
    ``space.majority``'s)."""
    prov = c.get("provision") or {}
    if any(((a.get("reference") or {}).get("identifier") or {}).get("system") == ACCOUNT_SYSTEM
           for a in prov.get("actor", [])):
        return None
    data = [split_reference((d.get("reference") or {}).get("reference", ""))
            for d in prov.get("data", [])]
    rpps = [((a.get("reference") or {}).get("identifier") or {}).get("value", "")
            for a in prov.get("actor", [])]
    since = (c.get("dateTime") or "")[:10]
    if prov.get("type") == "deny" and data and data[0]:
        return Choice(c["id"], "hide", data[0][1], f"{data[0][0]}/{data[0][1]}", since)
    if prov.get("type") == "deny" and rpps and rpps[0]:
        return Choice(c["id"], "block", rpps[0], f"RPPS {rpps[0]}", since)
    if prov.get("type") == "permit" and rpps and rpps[0]:
        role = (((prov.get("actor") or [{}])[0].get("role") or {}).get("coding") or [{}])[0]
        return Choice(c["id"], "care", rpps[0],
                      f"{CARE_ROLES.get(role.get('code', ''), 'Équipe de soins')} — RPPS {rpps[0]}",
                      since)
    return None


def choices(session: Session, p: Principal, space: Space) -> list[tuple[Choice, dict[str, Any]]]:
    """The holder's active choices (and the Consent each comes from)."""
    bundle = fhir_for(session, p).search("Consent", [
        ("patient", space.patient_fid), ("status", "active"), ("_count", "500")]).resource or {}
    out = []
    for e in bundle.get("entry", []):
        if e.get("search", {}).get("mode") != "match":
            continue
        choice = _read(e["resource"])
        if choice:
            out.append((choice, e["resource"]))
    return out


def hidden_fids(session: Session, p: Principal, space: Space) -> set[str]:
    return {c.target for c, _ in choices(session, p, space) if c.kind == "hide"}


def _professional(session: Session, rpps: str) -> User | None:
    return session.scalar(select(User).where(User.rpps == rpps))


def _revoke(session: Session, p: Principal, space: Space, kind: str, target: str) -> int:
    fhir = fhir_for(session, p)
    n = 0
    for choice, resource in choices(session, p, space):
        if choice.kind == kind and choice.target == target:
            fhir.update("Consent", choice.consent_fid, resource | {"status": "inactive"})
            n += 1
    return n


def hide_document(session: Session, p: Principal, space: Space, fid: str, *,
                  hidden: bool = True) -> None:
    if not hidden:
        if not _revoke(session, p, space, "hide", fid):
            raise Conflict("ce document n'est pas masqué", "not hidden", code="not-hidden")
        return
    doc = fhir_for(session, p).read("DocumentReference", fid).resource or {}
    if (doc.get("subject") or {}).get("reference") != f"Patient/{space.patient_fid}":
        raise Invalid("ce document n'est pas dans votre espace", "not your document")
    if fid in hidden_fids(session, p, space):
        return
    fhir_for(session, p).create(_consent(space, {"type": "deny", "data": [
        {"meaning": "instance", "reference": {"reference": f"DocumentReference/{fid}"}}]}))


def block(session: Session, p: Principal, space: Space, rpps: str, *,
          blocked: bool = True) -> None:
    rpps = validate_rpps(rpps)
    if not blocked:
        if not _revoke(session, p, space, "block", rpps):
            raise Conflict(f"le professionnel RPPS {rpps} n'est pas bloqué", "not blocked",
                           code="not-blocked")
        return
    if any(c.kind == "block" and c.target == rpps for c, _ in choices(session, p, space)):
        return
    fhir_for(session, p).create(_consent(space, {"type": "deny", "actor": [_actor(rpps, "IRCP")]}))


def declare_care(session: Session, p: Principal, space: Space, rpps: str, *,
                 role: str = "PCP") -> None:
    """The holder names her treating doctor or a member of her care team: a permit
    Consent, and the care relationship that lets that professional reach her record."""
    rpps = validate_rpps(rpps)
    if role not in CARE_ROLES:
        raise Invalid(f"rôle inconnu : {role[:20]}", "unknown role", code="role")
    pro = _professional(session, rpps)
    if pro is None or not any(r.role == Role.PROFESSIONAL for r in pro.roles):
        raise Invalid(f"aucun professionnel de santé inscrit avec le RPPS {rpps}",
                      "no professional with this RPPS", code="rpps-unknown")
    if any(c.kind == "block" and c.target == rpps for c, _ in choices(session, p, space)):
        raise Conflict("ce professionnel est bloqué : débloquez-le d'abord", "blocked",
                       code="blocked")
    fhir_for(session, p).create(_consent(space, {"type": "permit",
                                                 "actor": [_actor(rpps, role)]}))
    Access(session, Principal.of(pro)).declare_care(
        space.patient_fid, f"{CARE_ROLES[role].lower()} déclaré par le patient")
    audit.record(session, actor=p.actor, action="space.care-declared", object_type="space",
                 object_id=space.id, patient_ref=f"Patient/{space.patient_fid}",
                 details={"rpps": rpps, "role": role})


def professional_name(session: Session, rpps: str) -> str:
    pro = _professional(session, rpps)
    return pro.display_name if pro else ""
