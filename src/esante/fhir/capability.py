"""The CapabilityStatement: exactly what this server supports, built from the same tables
the search uses."""

from __future__ import annotations

from typing import Any

from esante import __version__
from esante.fhir.searchparams import PARAMS
from esante.fhir.validation import READ_ONLY_TYPES

WRITE = ("create", "update", "patch", "delete")
READ = ("read", "vread", "history-instance", "history-type", "search-type")
DEFINITION = "http://hl7.org/fhir/SearchParameter/"


def capability_statement(base: str) -> dict[str, Any]:
    resources = []
    for rtype, params in PARAMS.items():
        codes: tuple[str, ...] = READ if rtype in READ_ONLY_TYPES else READ + WRITE
        if rtype == "AuditEvent":
            codes = ("search-type",)
        entry: dict[str, Any] = {
            "type": rtype,
            "interaction": [{"code": c} for c in codes],
            "versioning": "versioned-update",
            "readHistory": True,
            "updateCreate": True,
            "conditionalCreate": rtype not in READ_ONLY_TYPES,
            "conditionalUpdate": False,
            "conditionalDelete": "not-supported",
            "searchParam": [
                {"name": "_id", "type": "token"},
                {"name": "_lastUpdated", "type": "date"},
                *({"name": p.name, "type": p.kind,
                   "definition": f"{DEFINITION}{rtype}-{p.name}"} for p in params),
            ],
        }
        if rtype == "AuditEvent":
            entry["searchParam"] = [{"name": "patient", "type": "reference"},
                                    {"name": "date", "type": "date"}]
        refs = [p for p in params if p.kind == "reference"]
        if refs:
            entry["searchInclude"] = [f"{rtype}:{p.name}" for p in refs]
        resources.append(entry)
    root = base.removesuffix("/fhir")
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-29",
        "publisher": "esante",
        "kind": "instance",
        "software": {"name": "esante", "version": __version__},
        "implementation": {"description": "esante — entrepôt FHIR R4", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "patchFormat": ["application/json-patch+json"],
        "rest": [{
            "mode": "server",
            "security": {
                "cors": False,
                # SMART App Launch: where the authorisation server is (also in
                # .well-known/smart-configuration).
                "extension": [{
                    "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                    "extension": [
                        {"url": "authorize", "valueUri": f"{root}/oauth/authorize"},
                        {"url": "token", "valueUri": f"{root}/oauth/token"},
                        {"url": "revoke", "valueUri": f"{root}/oauth/revoke"},
                        {"url": "introspect", "valueUri": f"{root}/oauth/introspect"}]}],
                "service": [{"coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                    "code": "SMART-on-FHIR"}, {
                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                    "code": "OAuth"}], "text": "Jetons SMART on FHIR (applications référencées) "
                                               "ou jetons d'API (esante token create)"}],
                "description": "Jeton Bearer ; accès selon la politique d'accès (titulaire, "
                               "relation de soin, bris de glace justifié), tout accès tracé.",
            },
            "resource": resources,
            "interaction": [{"code": "transaction"}, {"code": "batch"},
                            {"code": "history-system"}],
            "searchParam": [{"name": "_count", "type": "number"},
                            {"name": "_sort", "type": "string"},
                            {"name": "_include", "type": "string"},
                            {"name": "_revinclude", "type": "string"},
                            {"name": "_summary", "type": "token"},
                            {"name": "_elements", "type": "string"}],
            "operation": [{"name": "break-glass",
                           "definition": f"{base}/OperationDefinition/break-glass"}],
        }],
    }
