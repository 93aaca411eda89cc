"""The technical doctrine's first version: the requirements referenced apps must meet,
each with an identifier, its text and the check that proves it. Automatic checks cite
these identifiers (``checks.py``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from esante.apps.models import DoctrineVersion, Requirement
from esante.core.db import utcnow

VERSION = "1.0"
REQUIREMENTS: tuple[tuple[str, str, str, str, bool], ...] = (
    # code, theme, text, check, automatic
    ("SEC-01", "sécurité", "Les adresses de redirection OAuth sont en HTTPS.",
     "Chaque adresse de redirection déclarée commence par https://.", True),
    ("SEC-02", "sécurité", "L'application publique utilise PKCE (méthode S256).",
     "Le dossier déclare PKCE ; le serveur refuse toute demande sans code_challenge S256.", True),
    ("SEC-03", "sécurité", "Les données de santé sont hébergées chez un hébergeur certifié HDS.",
     "Le dossier cite la référence du certificat HDS de l'hébergeur.", True),
    ("INT-01", "interopérabilité", "Les données demandées le sont en portées SMART on FHIR v2.",
     "Chaque portée déclarée est une portée SMART valide.", True),
    ("ETH-01", "éthique", "Chaque donnée demandée est justifiée auprès de la personne.",
     "Chaque portée déclarée porte une justification d'au moins 10 caractères.", True),
    ("ETH-02", "éthique", "Les données demandées sont cohérentes avec la finalité déclarée.",
     "Les types de ressources demandés relèvent de la catégorie déclarée ; "
     "pas de portée « toutes données » hors catégorie « dossier de santé ».", True),
    ("ADM-01", "administratif", "L'éditeur est identifié par un SIRET valide.",
     "Le SIRET a 14 chiffres et une clé de Luhn valide (python-stdnum).", True),
    ("ADM-02", "administratif", "Le dossier est complet.",
     "Nom, éditeur, finalité, description, politique de confidentialité et contact support "
     "sont renseignés.", True),
    ("ACC-01", "accessibilité", "L'application respecte le RGAA 4.1.",
     "Déclaration d'accessibilité publiée, vérifiée par le relecteur.", False),
)


def ensure_doctrine(session: Session) -> DoctrineVersion:
    """The doctrine's current version, created (published) the first time."""
    version = session.scalar(select(DoctrineVersion).where(DoctrineVersion.version == VERSION))
    if version is not None:
        return version
    version = DoctrineVersion(version=VERSION, title="Doctrine technique des applications "
                              "référencées", status="published", published_at=utcnow())
    session.add(version)
    session.flush()
    for code, theme, text, check, automatic in REQUIREMENTS:
        session.add(Requirement(version_id=version.id, code=code, theme=theme, text=text,
                                check=check, automatic=automatic))
    session.flush()
    return version


def current(session: Session) -> tuple[DoctrineVersion, list[Requirement]]:
    """The latest published version (the one the automatic checks cite)."""
    ensure_doctrine(session)
    version = session.scalars(select(DoctrineVersion).where(
        DoctrineVersion.status == "published").order_by(DoctrineVersion.published_at.desc())).first()
    assert version is not None
    reqs = list(session.scalars(select(Requirement).where(Requirement.version_id == version.id)
                                .order_by(Requirement.code)))
    return version, reqs


def doctrine_out(session: Session) -> dict[str, Any]:
    version, reqs = current(session)
    return {"version": version.version, "title": version.title, "status": version.status,
            "published_at": version.published_at.isoformat() if version.published_at else None,
            "requirements": [{"id": r.code, "theme": r.theme, "text": r.text, "check": r.check,
                              "automatic": r.automatic} for r in reqs]}
