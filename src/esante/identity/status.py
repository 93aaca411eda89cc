"""The RNIV statuses and the one place that decides whether the INS may go outward.

Two questions set the status: were the traits obtained from the reference directory (the
teleservice)? was a high-trust identity document checked? A doubtful or fictitious
attribute forces the provisional status and forbids calling the directory.
"""

from __future__ import annotations

from typing import Any

from esante.core.errors import Conflict

PROV, VALI, RECUP, QUAL = "PROV", "VALI", "RECUP", "QUAL"
STATUS_LABELS = {PROV: "Identité provisoire", VALI: "Identité validée",
                 RECUP: "Identité récupérée", QUAL: "Identité qualifiée"}
STATUS_BADGES = {PROV: "warning", VALI: "info", RECUP: "new", QUAL: "success"}
ATTRIBUTE_LABELS = {"": "aucun", "DOUT": "identité douteuse", "FICT": "identité fictive"}

# High-trust documents (RNIV): identity card, passport, residence permit; for a minor, a
# birth certificate or the family booklet. Anything else is low trust.
DOCUMENTS = {
    "CNI": ("Carte nationale d'identité", True, False),
    "PASSEPORT": ("Passeport", True, False),
    "TITRE_SEJOUR": ("Titre de séjour", True, False),
    "ACTE_NAISSANCE": ("Extrait d'acte de naissance (mineur)", True, True),
    "LIVRET_FAMILLE": ("Livret de famille (mineur)", True, True),
    "PERMIS_CONDUIRE": ("Permis de conduire", False, False),
    "CARTE_VITALE": ("Carte Vitale", False, False),
    "AUTRE": ("Autre document", False, False),
}
COLLECTION_METHODS = {"manual": "saisie manuelle", "carte_vitale": "Carte Vitale",
                      "directory": "téléservice (annuaire de référence)",
                      "datamatrix": "lecture du Datamatrix", "app_vitale": "appli carte Vitale",
                      "import": "import de fichier"}


def is_high_trust(document: str, *, minor: bool) -> bool:
    _label, high, minors_only = DOCUMENTS[document]
    return high and (minor or not minors_only)


def status_of(*, from_directory: bool, document_checked: bool, attribute: str) -> str:
    if attribute:
        return PROV
    if from_directory:
        return QUAL if document_checked else RECUP
    return VALI if document_checked else PROV


def reason_of(*, from_directory: bool, document: str, attribute: str) -> str:
    """Why an identity has its status, in French."""
    if attribute:
        return (f"{ATTRIBUTE_LABELS[attribute].capitalize()} : le statut reste provisoire et "
                "l'annuaire de référence ne peut pas être interrogé")
    doc = f"pièce à haut niveau de confiance contrôlée ({DOCUMENTS[document][0]})" \
        if document else "aucune pièce d'identité à haut niveau de confiance contrôlée"
    src = "traits issus de l'annuaire de référence" if from_directory else \
        "traits non confirmés par l'annuaire de référence"
    return f"{src} ; {doc}"


def may_call_directory(attribute: str) -> bool:
    return not attribute


def outward_ins(identity: Any, traits: dict[str, Any]) -> dict[str, str] | None:
    """The INS an identity may carry to another party (FHIR, HL7 v2, CDA, messages, the
    citizen space), or None: only a qualified identity carries it. Every export goes
    through here."""
    if identity.status != QUAL or identity.merged_into_id is not None:
        return None
    if not traits.get("matricule"):
        return None
    return {"matricule": traits["matricule"], "oid": traits["oid"]}


def require_outward_ins(identity: Any, traits: dict[str, Any]) -> dict[str, str]:
    ins = outward_ins(identity, traits)
    if ins is None:
        raise Conflict(f"l'INS ne peut être transmis : {STATUS_LABELS[identity.status].lower()}"
                       " (seule une identité qualifiée porte l'INS vers l'extérieur)",
                       "only a qualified identity carries the INS", code="ins-not-qualified")
    return ins
