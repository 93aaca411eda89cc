"""Automatic checks of an app file against the doctrine: each result cites the
requirement it proves or fails."""

from __future__ import annotations

from typing import Any

from stdnum.exceptions import ValidationError
from stdnum.fr import siret as stdnum_siret

from esante.apps import scopes as smart
from esante.apps.models import App

# What each category may ask for (resource types); "dossier" may ask for everything.
CATEGORY_TYPES: dict[str, set[str]] = {
    "dossier": {"*"},
    "suivi": {"Patient", "Observation", "Condition", "MedicationStatement", "Practitioner",
              "Organization"},
    "prevention": {"Patient", "Immunization", "Observation", "Practitioner", "Organization"},
    "medicaments": {"Patient", "MedicationRequest", "MedicationStatement", "AllergyIntolerance",
                    "Practitioner", "Organization"},
    "documents": {"Patient", "DocumentReference", "DiagnosticReport", "Practitioner",
                  "Organization"},
    "etablissement": {"*"},
}
CATEGORY_FR = {"dossier": "Dossier de santé", "suivi": "Suivi d'une maladie chronique",
               "prevention": "Prévention et vaccination", "medicaments": "Médicaments",
               "documents": "Documents médicaux", "etablissement": "Système d'établissement"}
REQUIRED_FIELDS = {"name": "nom", "publisher_name": "éditeur", "purpose": "finalité",
                   "description": "description", "privacy_url": "politique de confidentialité",
                   "support_email": "contact support"}


def siret_ok(value: str) -> bool:
    try:
        stdnum_siret.validate(value)
    except ValidationError:
        return False
    return True


def _result(code: str, ok: bool, fr: str) -> dict[str, Any]:
    return {"requirement": code, "ok": ok, "detail": fr}


def run_checks(app: App) -> list[dict[str, Any]]:
    declared = [s.get("scope", "") for s in app.scopes]
    out = []
    http = [u for u in app.redirect_uris if not u.startswith("https://")]
    if app.client_kind == "public":
        out.append(_result("SEC-01", bool(app.redirect_uris) and not http,
                           "adresses de redirection en HTTPS" if app.redirect_uris and not http
                           else f"adresse non HTTPS : {http[0]}" if http
                           else "aucune adresse de redirection"))
        out.append(_result("SEC-02", app.pkce, "PKCE déclaré" if app.pkce else "PKCE absent"))
    out.append(_result("SEC-03", bool(app.hosting_certificate.strip()),
                       "certificat HDS cité" if app.hosting_certificate.strip()
                       else "référence du certificat HDS manquante"))
    unknown = [s for s in declared if not smart.is_known(s)]
    out.append(_result("INT-01", bool(declared) and not unknown,
                       f"portée inconnue : {unknown[0]}" if unknown
                       else "portées SMART valides" if declared else "aucune portée déclarée"))
    unjustified = [s.get("scope", "") for s in app.scopes if len(s.get("reason", "").strip()) < 10]
    out.append(_result("ETH-01", not unjustified,
                       f"justification manquante pour {unjustified[0]}" if unjustified
                       else "chaque portée est justifiée"))
    allowed = CATEGORY_TYPES.get(app.category, set())
    off = [r for r in smart.resource_scopes(declared)
           if "*" not in allowed and r.rtype not in allowed]
    out.append(_result("ETH-02", bool(allowed) and not off,
                       "catégorie inconnue" if not allowed
                       else f"{off[0].rtype} hors de la finalité « {CATEGORY_FR[app.category]} »"
                       if off else "données cohérentes avec la finalité"))
    out.append(_result("ADM-01", siret_ok(app.siret),
                       "SIRET valide" if siret_ok(app.siret) else f"SIRET invalide : {app.siret}"))
    missing = [fr for attr, fr in REQUIRED_FIELDS.items() if not str(getattr(app, attr)).strip()]
    out.append(_result("ADM-02", not missing, f"à compléter : {', '.join(missing)}" if missing
                       else "dossier complet"))
    return out
