"""Parse and validate incoming resources: JSON, the FHIR R4 model (``fhir.resources``,
R4B package), then the French rules."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from esante.fhir import frcore
from esante.fhir.outcome import FhirError, Issue
from esante.fhir.searchparams import SUPPORTED_TYPES

MAX_ISSUES = 20
# Codes bound to a *required* value set in R4 (the model classes check types, not these).
REQUIRED_CODES: dict[str, dict[str, frozenset[str]]] = {
    "Patient": {"gender": frozenset({"male", "female", "other", "unknown"})},
    "Practitioner": {"gender": frozenset({"male", "female", "other", "unknown"})},
    "Encounter": {"status": frozenset({"planned", "arrived", "triaged", "in-progress", "onleave",
                                       "finished", "cancelled", "entered-in-error", "unknown"})},
    "DocumentReference": {"status": frozenset({"current", "superseded", "entered-in-error"}),
                          "docStatus": frozenset({"preliminary", "final", "amended",
                                                  "entered-in-error"})},
    "Observation": {"status": frozenset({"registered", "preliminary", "final", "amended",
                                         "corrected", "cancelled", "entered-in-error",
                                         "unknown"})},
    "AllergyIntolerance": {"type": frozenset({"allergy", "intolerance"}),
                           "criticality": frozenset({"low", "high", "unable-to-assess"})},
    "MedicationStatement": {"status": frozenset({"active", "completed", "entered-in-error",
                                                 "intended", "stopped", "on-hold", "unknown",
                                                 "not-taken"})},
    "Immunization": {"status": frozenset({"completed", "entered-in-error", "not-done"})},
    "Consent": {"status": frozenset({"draft", "proposed", "active", "rejected", "inactive",
                                     "entered-in-error"})},
    "Communication": {"status": frozenset({"preparation", "in-progress", "not-done", "on-hold",
                                           "stopped", "completed", "entered-in-error",
                                           "unknown"})},
    "Appointment": {"status": frozenset({"proposed", "pending", "booked", "arrived", "fulfilled",
                                         "cancelled", "noshow", "entered-in-error",
                                         "checked-in", "waitlist"})},
}
READ_ONLY_TYPES = frozenset({"AuditEvent"})  # written by the platform, never by clients


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FhirError(400, f"JSON invalide : {exc}", f"invalid JSON: {exc}",
                        code="structure") from None


def check_type(resource_type: str, *, writable: bool = False) -> None:
    if resource_type not in SUPPORTED_TYPES:
        raise FhirError(404, f"type de ressource non pris en charge : {resource_type[:40]}",
                        f"unsupported resource type: {resource_type[:40]}", code="not-supported")
    if writable and resource_type in READ_ONLY_TYPES:
        raise FhirError(405, f"{resource_type} est en lecture seule",
                        f"{resource_type} is read-only", code="not-supported")


@cache
def _model(resource_type: str) -> Any:
    return get_fhir_model_class(resource_type)


def validate(data: Any, *, expected_type: str | None = None) -> dict[str, Any]:
    """Return the resource as a plain dict, or raise a FhirError naming every problem."""
    if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
        raise FhirError(400, "une ressource FHIR (objet JSON avec resourceType) est attendue",
                        "a FHIR resource (JSON object with resourceType) is expected",
                        code="structure")
    rtype = data["resourceType"]
    if expected_type and rtype != expected_type:
        raise FhirError(400, f"resourceType {rtype[:40]} ne correspond pas à l'URL "
                        f"({expected_type})", f"resourceType {rtype[:40]} does not match the "
                        f"URL ({expected_type})", code="invalid", expression="resourceType")
    check_type(rtype, writable=True)
    try:
        _model(rtype).model_validate(data)
    except ValidationError as exc:
        issues = [_issue(rtype, err) for err in exc.errors()[:MAX_ISSUES]]
        raise FhirError(422, issues[0].fr, issues[0].en, issues=issues) from None
    except (TypeError, ValueError) as exc:  # raised by some model validators
        raise FhirError(422, f"ressource invalide : {exc}"[:300], f"invalid resource: {exc}"[:300],
                        code="structure") from None
    issues = _required_codes(rtype, data) + frcore.check(data)
    if issues:
        raise FhirError(422, issues[0].fr, issues[0].en, issues=issues)
    return data


def _required_codes(rtype: str, data: dict[str, Any]) -> list[Issue]:
    issues = []
    for element, allowed in REQUIRED_CODES.get(rtype, {}).items():
        value = data.get(element)
        if value is not None and value not in allowed:
            issues.append(Issue(
                f"code non autorisé pour {rtype}.{element} : « {str(value)[:40]} » (attendu : "
                f"{', '.join(sorted(allowed))})", f"{rtype}.{element}: code {str(value)[:40]!r} "
                "is not in the required value set", "code-invalid",
                expression=f"{rtype}.{element}"))
    return issues


def _issue(rtype: str, err: Any) -> Issue:
    path = ".".join(str(p) for p in err.get("loc", ()) if p != "__root__")
    where = f"{rtype}.{path}" if path else rtype
    msg = err.get("msg", "")
    kind = err.get("type", "")
    if kind in ("extra_forbidden",):
        fr = f"élément inconnu : {where}"
    elif kind == "missing":
        fr = f"élément obligatoire absent : {where}"
    else:
        fr = f"valeur invalide pour {where} : {msg}"
    return Issue(fr[:400], f"{where}: {msg}"[:400], "structure" if kind == "extra_forbidden"
                 else "required" if kind == "missing" else "value", expression=where)
