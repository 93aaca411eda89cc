"""The professional's side of a space: what the rules let her see of a patient's record
(documents, profile), why she may see it (care relationship, declared care team,
break-glass and its end), and the break-glass itself, which notifies the citizen at once.
Every decision is the FHIR access layer's."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from esante.core.errors import Forbidden
from esante.core.policy import Principal
from esante.space.documents import Document, as_document, fhir_for
from esante.space.models import Space


@dataclass
class ProView:
    patient_fid: str
    name: str = ""
    birth_date: str = ""
    allowed: bool = False
    reasons: list[tuple[str, datetime | None]] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)
    allergies: list[str] = field(default_factory=list)


def _name(patient: dict[str, Any]) -> str:
    for n in patient.get("name", []):
        return " ".join([*n.get("given", []), n.get("family", "")]).strip()
    return ""


def view(session: Session, p: Principal, patient_fid: str) -> ProView:
    """The record as this professional may see it; ``allowed`` False when the rules say
    no (not in care, or blocked: the same answer, nothing revealed)."""
    if not p.has_role("professional"):
        raise Forbidden("accès refusé : réservé aux professionnels de santé",
                        "professionals only", code="forbidden")
    fhir = fhir_for(session, p)
    out = ProView(patient_fid)
    try:
        patient = fhir.read("Patient", patient_fid).resource or {}
    except Forbidden:
        return out
    out.allowed, out.name, out.birth_date = True, _name(patient), patient.get("birthDate", "")
    out.reasons = fhir.access.care_reasons(patient_fid)
    placeholder = Space(patient_fid=patient_fid)
    docs = fhir.search("DocumentReference", [("patient", patient_fid), ("_sort", "-date"),
                                             ("_count", "200")]).resource or {}
    out.documents = [as_document(e["resource"], placeholder) for e in docs.get("entry", [])
                     if e.get("search", {}).get("mode") == "match"]
    allergies = fhir.search("AllergyIntolerance", [("patient", patient_fid),
                                                   ("_count", "200")]).resource or {}
    out.allergies = [(e["resource"].get("code") or {}).get("text", "")
                     for e in allergies.get("entry", [])
                     if e.get("search", {}).get("mode") == "match"]
    return out


def break_glass(session: Session, p: Principal, patient_fid: str, reason: str) -> None:
    if not p.has_role("professional"):
        raise Forbidden("accès refusé : réservé aux professionnels de santé",
                        "professionals only", code="forbidden")
    fhir_for(session, p).break_glass(patient_fid, reason)
