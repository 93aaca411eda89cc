"""Demo: Camille Martin's record (qualified INS, created by her doctor, with one report)
and her space, whose activation code is printed by ``esante demo``."""

from __future__ import annotations

import base64

from sqlalchemy import select
from sqlalchemy.orm import Session

from esante.core.accounts.models import User
from esante.core.audit import Actor
from esante.core.policy import Principal
from esante.fhir.frcore import OID_INS_NIR_TEST, RELIABILITY_URL
from esante.fhir.models import FhirResource, FhirTokenIndex
from esante.space import service
from esante.space.documents import CATEGORY_SYSTEM, fhir_for

DEMO_INS = "279035121518989"  # an official test NIR (ansforge/hl7V2-exemples)
CITIZEN = "camille.martin@demo.esante.fr"
DOCTOR = "dr.bernard@demo.esante.fr"


def _patient() -> dict[str, object]:
    return {"resourceType": "Patient",
            "name": [{"use": "official", "family": "MARTIN", "given": ["Camille"]}],
            "gender": "female", "birthDate": "1979-03-15",
            "identifier": [{"system": OID_INS_NIR_TEST, "value": DEMO_INS}],
            "extension": [{"url": RELIABILITY_URL, "extension": [{
                "url": "identityStatus", "valueCoding": {
                    "system": "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-identity-status",
                    "code": "QUAL"}}]}]}


def _report(patient_fid: str) -> tuple[dict[str, object], bytes]:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.multi_cell(0, 8, "Compte rendu de consultation - Dr Bernard\nExamen normal.")
    return {"resourceType": "Binary", "contentType": "application/pdf",
            "securityContext": {"reference": f"Patient/{patient_fid}"}}, bytes(pdf.output())


def seed_space(session: Session) -> tuple[str, str]:
    """(INS, activation code) of the demo citizen's space; a new code on every run until
    the space is activated ("" then)."""
    existing = session.scalar(select(FhirResource.fid).join(
        FhirTokenIndex, FhirTokenIndex.res_pk == FhirResource.pk).where(
        FhirResource.resource_type == "Patient", FhirTokenIndex.param == "identifier",
        FhirTokenIndex.code == DEMO_INS))
    doctor = session.scalar(select(User).where(User.email == DOCTOR))
    if doctor is None or session.scalar(select(User).where(User.email == CITIZEN)) is None:
        return DEMO_INS, ""
    actor = Actor.system("demo")
    if existing is None:
        fhir = fhir_for(session, Principal.of(doctor))
        existing = str((fhir.create(_patient()).resource or {})["id"])
        binary, data = _report(existing)
        b = fhir.create(binary | {"data": base64.b64encode(data).decode()}).resource or {}
        fhir.create({"resourceType": "DocumentReference", "status": "current",
                     "subject": {"reference": f"Patient/{existing}"},
                     "category": [{"coding": [{"system": CATEGORY_SYSTEM,
                                               "code": "compte-rendu"}]}],
                     "date": "2026-11-02T09:30:00Z", "description": "Compte rendu de consultation",
                     "author": [{"display": "Dr Bernard"}],
                     "content": [{"attachment": {"contentType": "application/pdf",
                                                 "url": f"Binary/{b['id']}",
                                                 "title": "compte-rendu.pdf"}}]})
    space, code = service.provision(session, patient_fid=existing, actor=actor)
    if not code and space.status in ("pending", "open", "objected"):
        code = service.new_code(session, space, actor=actor)
    return DEMO_INS, code
