"""SMART on FHIR scopes (App Launch 2.0, with the v1 ``.read``/``.write`` forms): parsing,
what they allow on the FHIR API, and what they mean in plain French for the consent screen.

A resource scope is ``<context>/<type>.<permissions>``: context ``patient`` (the launch
patient's record only), ``user`` (what the signed-in user may see) or ``system`` (a
backend service); type a FHIR resource type or ``*``; permissions some of ``c r u d s``
in that order (create, read, update, delete, search)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from esante.core.errors import Invalid

_RESOURCE = re.compile(r"^(patient|user|system)/(\*|[A-Z][A-Za-z]{1,63})\.(c?r?u?d?s?|read|write|\*)$")
IDENTITY_SCOPES = ("openid", "fhirUser", "profile", "launch", "launch/patient",
                   "offline_access", "online_access")
V1 = {"read": "rs", "write": "cud", "*": "cruds"}

# What a person reads on the consent screen: plain words, no resource type names.
TYPE_FR = {
    "*": "toutes vos données de santé",
    "Patient": "votre identité (nom, date de naissance, identifiant national de santé)",
    "Observation": "vos mesures et résultats (constantes, analyses biologiques)",
    "Condition": "vos maladies et problèmes de santé",
    "MedicationRequest": "vos prescriptions de médicaments",
    "MedicationStatement": "les médicaments que vous prenez",
    "AllergyIntolerance": "vos allergies et intolérances",
    "Immunization": "vos vaccinations",
    "DocumentReference": "vos documents médicaux (comptes rendus, ordonnances)",
    "Encounter": "vos consultations et hospitalisations",
    "Procedure": "vos actes et interventions",
    "DiagnosticReport": "vos comptes rendus d'examens",
    "Consent": "vos directives de partage",
    "Practitioner": "l'annuaire des professionnels de santé",
    "Organization": "l'annuaire des établissements",
}
OTHER_FR = {
    "openid": "confirmer qui vous êtes auprès de l'application",
    "fhirUser": "connaître votre profil sur la plateforme",
    "profile": "connaître votre nom",
    "launch/patient": "savoir de quel dossier il s'agit (le vôtre)",
    "launch": "recevoir le dossier patient depuis lequel vous l'ouvrez",
    "offline_access": "garder l'accès quand vous n'utilisez pas l'application, "
                      "jusqu'à ce que vous le retiriez",
    "online_access": "garder l'accès pendant que vous utilisez l'application",
}
VERB_FR = {"r": "lire", "s": "rechercher dans", "c": "ajouter à", "u": "modifier",
           "d": "supprimer"}


@dataclass(frozen=True)
class ResourceScope:
    context: str
    rtype: str
    perms: frozenset[str]

    def covers(self, rtype: str, op: str) -> bool:
        return (self.rtype in ("*", rtype)) and op in self.perms


def parse_resource_scope(scope: str) -> ResourceScope | None:
    m = _RESOURCE.match(scope)
    if not m:
        return None
    context, rtype, perms = m.groups()
    perms = V1.get(perms, perms)
    if not perms:
        return None
    return ResourceScope(context, rtype, frozenset(perms))


def is_known(scope: str) -> bool:
    return scope in IDENTITY_SCOPES or parse_resource_scope(scope) is not None


def split(scope: str | None) -> list[str]:
    return [s for s in (scope or "").split() if s]


def check_all(scopes: list[str]) -> None:
    bad = [s for s in scopes if not is_known(s)]
    if bad:
        raise Invalid(f"portée SMART inconnue : {bad[0][:80]}", f"unknown SMART scope: {bad[0][:80]}",
                      code="invalid_scope")


def resource_scopes(scopes: list[str]) -> list[ResourceScope]:
    return [r for r in map(parse_resource_scope, scopes) if r is not None]


def narrower_or_equal(wanted: list[str], granted: list[str]) -> bool:
    """Whether every wanted scope is covered by the granted ones (refresh may narrow,
    never widen)."""
    granted_set = set(granted)
    held = resource_scopes(granted)
    for s in wanted:
        if s in granted_set:
            continue
        r = parse_resource_scope(s)
        if r is None:
            return False
        if not any(g.context == r.context and g.rtype in ("*", r.rtype) and r.perms <= g.perms
                   for g in held):
            return False
    return True


def describe_fr(scope: str) -> str:
    """One scope in plain French: « lire et rechercher dans vos allergies »."""
    if scope in OTHER_FR:
        return OTHER_FR[scope]
    r = parse_resource_scope(scope)
    if r is None:
        return scope
    verbs = [VERB_FR[p] for p in "rscud" if p in r.perms]
    what = TYPE_FR.get(r.rtype, f"vos données de type {r.rtype}")
    if r.context == "user":
        what = what.replace("vos ", "les ").replace("votre ", "la ").replace(
            "toutes les données", "toutes les données auxquelles vous avez accès")
    elif r.context == "system":
        what = what.replace("vos ", "les ").replace("votre ", "l'").replace(
            "toutes les données", "toutes les données de l'établissement")
    joined = verbs[0] if len(verbs) == 1 else ", ".join(verbs[:-1]) + " et " + verbs[-1]
    return f"{joined} {what}"


def fhir_access_scopes(scopes: list[str]) -> list[str]:
    """The platform's own token scopes (``read``/``write``) a SMART grant amounts to."""
    out = set()
    for r in resource_scopes(scopes):
        if r.perms & {"r", "s"}:
            out.add("read")
        if r.perms & {"c", "u", "d"}:
            out.add("write")
    return sorted(out)
