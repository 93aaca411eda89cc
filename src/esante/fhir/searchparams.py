"""The search parameters each supported resource answers, and where their values are.

A parameter is (kind, paths, target): ``paths`` are dotted element paths (lists are
flattened at each step); ``target`` restricts a reference parameter to one resource type
(``patient`` only matches ``Patient/...``). Parameters common to all resources (``_id``,
``_lastUpdated``) are answered from the resource table itself."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["token", "string", "date", "reference"]


@dataclass(frozen=True)
class Param:
    name: str
    kind: Kind
    paths: tuple[str, ...]
    target: str | None = None


def _p(name: str, kind: Kind, *paths: str, target: str | None = None) -> Param:
    return Param(name, kind, paths, target)


IDENTIFIER = _p("identifier", "token", "identifier")
ACTIVE = _p("active", "token", "active")
STATUS = _p("status", "token", "status")
SUBJECT = _p("subject", "reference", "subject")
PATIENT_BY_SUBJECT = _p("patient", "reference", "subject", target="Patient")
PATIENT_BY_PATIENT = _p("patient", "reference", "patient", target="Patient")
ENCOUNTER = _p("encounter", "reference", "encounter", target="Encounter")
NAMES = (
    _p("name", "string", "name.family", "name.given", "name.text", "name.prefix"),
    _p("family", "string", "name.family"),
    _p("given", "string", "name.given"),
)
ADDRESS = (
    _p("address", "string", "address.line", "address.city", "address.postalCode",
       "address.country", "address.text"),
    _p("address-city", "string", "address.city"),
    _p("address-postalcode", "string", "address.postalCode"),
)
CHOICE_EFFECTIVE = ("effectiveDateTime", "effectivePeriod", "effectiveInstant")

PARAMS: dict[str, tuple[Param, ...]] = {
    "Patient": (
        IDENTIFIER, ACTIVE, *NAMES, *ADDRESS,
        _p("birthdate", "date", "birthDate"),
        _p("gender", "token", "gender"),
        _p("telecom", "token", "telecom"),
        _p("general-practitioner", "reference", "generalPractitioner"),
        _p("organization", "reference", "managingOrganization", target="Organization"),
        _p("link", "reference", "link.other"),
    ),
    "Practitioner": (IDENTIFIER, ACTIVE, *NAMES, *ADDRESS, _p("telecom", "token", "telecom")),
    "PractitionerRole": (
        IDENTIFIER, ACTIVE,
        _p("practitioner", "reference", "practitioner", target="Practitioner"),
        _p("organization", "reference", "organization", target="Organization"),
        _p("role", "token", "code"),
        _p("specialty", "token", "specialty"),
        _p("telecom", "token", "telecom"),
    ),
    "Organization": (
        IDENTIFIER, ACTIVE, *ADDRESS,
        _p("name", "string", "name", "alias"),
        _p("type", "token", "type"),
        _p("partof", "reference", "partOf", target="Organization"),
    ),
    "Encounter": (
        IDENTIFIER, STATUS, SUBJECT, PATIENT_BY_SUBJECT,
        _p("class", "token", "class"),
        _p("type", "token", "type"),
        _p("date", "date", "period"),
        _p("participant", "reference", "participant.individual"),
        _p("service-provider", "reference", "serviceProvider", target="Organization"),
    ),
    "DocumentReference": (
        IDENTIFIER, STATUS, SUBJECT, PATIENT_BY_SUBJECT,
        _p("type", "token", "type"),
        _p("category", "token", "category"),
        _p("date", "date", "date"),
        _p("period", "date", "context.period"),
        _p("author", "reference", "author"),
        _p("custodian", "reference", "custodian", target="Organization"),
        _p("encounter", "reference", "context.encounter", target="Encounter"),
    ),
    "Binary": (),
    "Observation": (
        IDENTIFIER, STATUS, SUBJECT, PATIENT_BY_SUBJECT, ENCOUNTER,
        _p("code", "token", "code"),
        _p("category", "token", "category"),
        _p("date", "date", *CHOICE_EFFECTIVE),
        _p("performer", "reference", "performer"),
    ),
    "Condition": (
        IDENTIFIER, SUBJECT, PATIENT_BY_SUBJECT, ENCOUNTER,
        _p("code", "token", "code"),
        _p("category", "token", "category"),
        _p("clinical-status", "token", "clinicalStatus"),
        _p("verification-status", "token", "verificationStatus"),
        _p("onset-date", "date", "onsetDateTime", "onsetPeriod"),
        _p("recorded-date", "date", "recordedDate"),
    ),
    "AllergyIntolerance": (
        IDENTIFIER, PATIENT_BY_PATIENT,
        _p("code", "token", "code"),
        _p("category", "token", "category"),
        _p("type", "token", "type"),
        _p("criticality", "token", "criticality"),
        _p("clinical-status", "token", "clinicalStatus"),
        _p("verification-status", "token", "verificationStatus"),
        _p("date", "date", "recordedDate"),
        _p("onset", "date", "onsetDateTime", "onsetPeriod"),
    ),
    "MedicationStatement": (
        IDENTIFIER, STATUS, SUBJECT, PATIENT_BY_SUBJECT,
        _p("code", "token", "medicationCodeableConcept"),
        _p("medication", "reference", "medicationReference"),
        _p("category", "token", "category"),
        _p("effective", "date", "effectiveDateTime", "effectivePeriod"),
        _p("context", "reference", "context"),
    ),
    "Immunization": (
        IDENTIFIER, STATUS, PATIENT_BY_PATIENT,
        _p("vaccine-code", "token", "vaccineCode"),
        _p("date", "date", "occurrenceDateTime"),
        _p("performer", "reference", "performer.actor"),
        _p("location", "reference", "location"),
    ),
    "Consent": (
        IDENTIFIER, STATUS, PATIENT_BY_PATIENT,
        _p("scope", "token", "scope"),
        _p("category", "token", "category"),
        _p("date", "date", "dateTime"),
        _p("actor", "reference", "provision.actor.reference"),
        _p("data", "reference", "provision.data.reference"),
        _p("period", "date", "provision.period"),
    ),
    "Communication": (
        IDENTIFIER, STATUS, SUBJECT, PATIENT_BY_SUBJECT, ENCOUNTER,
        _p("category", "token", "category"),
        _p("sent", "date", "sent"),
        _p("received", "date", "received"),
        _p("sender", "reference", "sender"),
        _p("recipient", "reference", "recipient"),
    ),
    "Appointment": (
        IDENTIFIER, STATUS,
        _p("patient", "reference", "participant.actor", target="Patient"),
        _p("practitioner", "reference", "participant.actor", target="Practitioner"),
        _p("actor", "reference", "participant.actor"),
        _p("date", "date", "start"),
        _p("appointment-type", "token", "appointmentType"),
        _p("service-type", "token", "serviceType"),
    ),
    # A list of patients (cohort) for a Group-level $export; see fhir.access for who reaches it.
    "Group": (
        IDENTIFIER,
        _p("type", "token", "type"),
        _p("code", "token", "code"),
        _p("member", "reference", "member.entity"),
    ),
    # AuditEvent is read from the platform's audit trail (see fhir.auditevents).
    "AuditEvent": (),
}

SUPPORTED_TYPES: tuple[str, ...] = tuple(PARAMS)

# Where each resource type names the patient whose compartment holds it.
COMPARTMENT: dict[str, tuple[str, ...]] = {
    "Encounter": ("subject",),
    "DocumentReference": ("subject",),
    "Observation": ("subject",),
    "Condition": ("subject",),
    "AllergyIntolerance": ("patient",),
    "MedicationStatement": ("subject",),
    "Immunization": ("patient",),
    "Consent": ("patient",),
    "Communication": ("subject",),
    "Appointment": ("participant.actor",),
}
DIRECTORY_TYPES = frozenset({"Practitioner", "PractitionerRole", "Organization"})


def param(resource_type: str, name: str) -> Param | None:
    for p in PARAMS.get(resource_type, ()):
        if p.name == name:
            return p
    return None
