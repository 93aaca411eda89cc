"""Holders of patient records: the citizen herself, or a guardian for a minor."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from esante.core import audit
from esante.core.accounts.models import User
from esante.core.audit import Actor
from esante.core.db import utcnow
from esante.fhir.models import FhirResource, PatientLink
from esante.fhir.outcome import FhirError


def link_patient(session: Session, *, user: User, patient_fid: str, relation: str = "self",
                 actor: Actor | None = None) -> PatientLink:
    row = session.scalar(select(FhirResource).where(
        FhirResource.resource_type == "Patient", FhirResource.fid == patient_fid))
    if row is None or row.deleted:
        raise FhirError(404, f"Patient/{patient_fid[:64]} introuvable",
                        f"Patient/{patient_fid[:64]} not found", code="not-found")
    existing = session.scalar(select(PatientLink).where(
        PatientLink.user_id == user.id, PatientLink.patient_fid == patient_fid))
    if existing:
        return existing
    link = PatientLink(user_id=user.id, patient_fid=patient_fid, relation=relation,
                       created_at=utcnow())
    session.add(link)
    audit.record(session, actor=actor or Actor.system("cli"), action="fhir.link-holder",
                 object_type="Patient", object_id=f"Patient/{patient_fid}",
                 subject_user_id=user.id, patient_ref=f"Patient/{patient_fid}",
                 details={"relation": relation})
    session.flush()
    return link
