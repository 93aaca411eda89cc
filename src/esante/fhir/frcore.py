"""French rules on top of FHIR R4 (FR Core): INS identifiers on Patient with a checked
NIR key and the identity-reliability status that allows them, RPPS on Practitioner,
FINESS on Organization."""

from __future__ import annotations

from typing import Any

from stdnum.fr import nir as stdnum_nir

from esante.core.errors import Invalid
from esante.core.identifiers import validate_finess, validate_rpps
from esante.fhir.outcome import Issue

OID_INS_NIR = "urn:oid:1.2.250.1.213.1.4.8"
OID_INS_NIA = "urn:oid:1.2.250.1.213.1.4.9"
OID_INS_NIR_TEST = "urn:oid:1.2.250.1.213.1.4.10"
OID_INS_NIR_DEMO = "urn:oid:1.2.250.1.213.1.4.11"
INS_SYSTEMS = (OID_INS_NIR, OID_INS_NIA, OID_INS_NIR_TEST, OID_INS_NIR_DEMO)
RPPS_SYSTEM = "urn:oid:1.2.250.1.71.4.2.1"
FINESS_SYSTEMS = ("https://finess.esante.gouv.fr", "http://finess.sante.gouv.fr")
RELIABILITY_URL = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-identity-reliability"
RELIABILITY_STATUSES = ("PROV", "VALI", "RECUP", "QUAL")
# RNIV: the INS is recorded only once the identity was obtained from the teleservice.
INS_ALLOWED_STATUSES = ("RECUP", "QUAL")


def nir_problem(value: str) -> tuple[str, str] | None:
    """(fr, en) describing what is wrong with a NIR/NIA matricule, or None."""
    compact = stdnum_nir.compact(value)
    if len(compact) != 15:
        return (f"15 caractères attendus, reçu {len(compact)}",
                f"15 characters expected, got {len(compact)}")
    if not (compact[:5].isdigit() and compact[7:].isdigit()
            and (compact[5:7].isdigit() or compact[5:7] in ("2A", "2B"))):
        return ("format invalide (chiffres, 2A ou 2B pour la Corse)",
                "invalid format (digits, 2A or 2B for Corsica)")
    expected = stdnum_nir.calc_check_digits(compact[:13])
    if compact[13:] != expected:
        return (f"clé attendue {expected}, reçue {compact[13:]}",
                f"key expected {expected}, got {compact[13:]}")
    return None


def identity_status(patient: dict[str, Any]) -> str | None:
    for ext in patient.get("extension", []):
        if ext.get("url") == RELIABILITY_URL:
            for sub in ext.get("extension", []):
                if sub.get("url") == "identityStatus":
                    return (sub.get("valueCoding") or {}).get("code")
    return None


def check(resource: dict[str, Any]) -> list[Issue]:
    rtype = resource.get("resourceType")
    if rtype == "Patient":
        return _patient(resource)
    if rtype == "Practitioner":
        return _identifiers(resource, (RPPS_SYSTEM,), _rpps, "RPPS")
    if rtype == "Organization":
        return _identifiers(resource, FINESS_SYSTEMS, validate_finess, "FINESS")
    return []


def _patient(patient: dict[str, Any]) -> list[Issue]:
    issues: list[Issue] = []
    has_ins = False
    for i, ident in enumerate(patient.get("identifier", [])):
        if ident.get("system") not in INS_SYSTEMS:
            continue
        has_ins = True
        problem = nir_problem(str(ident.get("value", "")))
        if problem:
            issues.append(Issue(f"INS invalide : {problem[0]}", f"invalid INS: {problem[1]}",
                                "value", expression=f"Patient.identifier[{i}].value"))
    status = identity_status(patient)
    if status is not None and status not in RELIABILITY_STATUSES:
        issues.append(Issue(
            f"statut d'identité inconnu : {status[:10]} (attendu : PROV, VALI, RECUP ou QUAL)",
            f"unknown identity status: {status[:10]}", "code-invalid",
            expression="Patient.extension"))
    elif has_ins and status not in INS_ALLOWED_STATUSES:
        issues.append(Issue(
            "l'INS ne peut être enregistré que pour une identité récupérée ou qualifiée "
            f"(statut {status or 'absent'}) : extension fr-core-identity-reliability attendue",
            "the INS may only be recorded for a recovered or qualified identity",
            "business-rule", expression="Patient.extension"))
    return issues


def _rpps(value: str) -> str:
    # The national directory writes an RPPS as IDNPS "8" + 11 digits.
    digits = value[1:] if len(value) == 12 and value.startswith("8") else value
    return validate_rpps(digits)


def _identifiers(resource: dict[str, Any], systems: tuple[str, ...], validate: Any,
                 label: str) -> list[Issue]:
    issues = []
    for i, ident in enumerate(resource.get("identifier", [])):
        if ident.get("system") in systems:
            try:
                validate(str(ident.get("value", "")))
            except Invalid as exc:
                issues.append(Issue(f"{label} : {exc.fr}", f"{label}: {exc.en}", "value",
                                    expression=f"{resource['resourceType']}.identifier[{i}].value"))
    return issues
