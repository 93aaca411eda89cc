"""Who may do what in the data hub.

The catalogue and the registry of projects are public (no login): they are read without
asking the policy. A draft is seen by its owner only; once submitted, a project is public.
Researchers submit projects and publish their results; the hub's reviewers (secretariat,
ethics opinion, authorisation) review them, never their own; citizens record and withdraw
their own objections."""

from __future__ import annotations

from typing import Any

from esante.core.accounts.models import Role
from esante.core.policy import Principal, rule

REVIEWERS = (Role.DATAHUB_REVIEWER,)


def owns(p: Principal, project: Any) -> bool:
    return bool(p.user.id == project.owner_id)


@rule("datahub.dataset.register", write=True, label_fr="inscrire un jeu de données au catalogue")
def _register(p: Principal, _t: Any) -> bool:
    return p.has_role(Role.ADMIN, *REVIEWERS)


@rule("datahub.project.create", write=True, label_fr="déposer un projet de recherche")
def _create(p: Principal, _t: Any) -> bool:
    return p.has_role(Role.RESEARCHER)


@rule("datahub.project.mine", write=False, label_fr="consulter ses projets de recherche")
def _mine(p: Principal, _t: Any) -> bool:
    return p.has_role(Role.RESEARCHER)


@rule("datahub.project.read", write=False, label_fr="consulter un projet de recherche")
def _read(p: Principal, project: Any) -> bool:
    return project.status != "draft" or owns(p, project)


@rule("datahub.project.submit", write=True, label_fr="soumettre son projet de recherche")
def _submit(p: Principal, project: Any) -> bool:
    return owns(p, project) and p.has_role(Role.RESEARCHER)


@rule("datahub.project.results", write=True,
      label_fr="publier les résultats de son projet de recherche")
def _results(p: Principal, project: Any) -> bool:
    return owns(p, project) and p.has_role(Role.RESEARCHER)


@rule("datahub.review.queue", write=False, label_fr="consulter les files d'évaluation des projets")
def _queue(p: Principal, _t: Any) -> bool:
    return p.has_role(*REVIEWERS)


@rule("datahub.project.review", write=True,
      label_fr="évaluer un projet (complétude, avis éthique, autorisation)")
def _review(p: Principal, project: Any) -> bool:
    return p.has_role(*REVIEWERS) and not owns(p, project)


@rule("datahub.extract.request", write=False,
      label_fr="lire la demande d'extraction d'un projet autorisé")
def _extract(p: Principal, _project: Any) -> bool:
    return p.has_role(*REVIEWERS, Role.TRUSTED_THIRD_PARTY)


@rule("datahub.extract.run", write=True,
      label_fr="lancer l'extraction d'un projet autorisé")
def _extract_run(p: Principal, _project: Any) -> bool:
    return p.has_role(*REVIEWERS, Role.TRUSTED_THIRD_PARTY)


@rule("datahub.extract.report", write=False,
      label_fr="lire les rapports de risque des extractions d'un projet")
def _extract_report(p: Principal, project: Any) -> bool:
    return owns(p, project) or p.has_role(*REVIEWERS, Role.TRUSTED_THIRD_PARTY)


@rule("datahub.output.submit", write=True,
      label_fr="soumettre un tableau de résultats à la vérification de sortie")
def _output_submit(p: Principal, project: Any) -> bool:
    return owns(p, project) and p.has_role(Role.RESEARCHER)


@rule("datahub.output.review", write=True,
      label_fr="autoriser ou refuser la sortie d'un tableau de résultats")
def _output_review(p: Principal, project: Any) -> bool:
    return p.has_role(*REVIEWERS) and not owns(p, project)


@rule("datahub.output.read", write=False,
      label_fr="consulter les tableaux de résultats soumis d'un projet")
def _output_read(p: Principal, project: Any) -> bool:
    return owns(p, project) or p.has_role(*REVIEWERS)


@rule("datahub.optout.self", write=True, label_fr="gérer son opposition à la réutilisation de ses "
      "données de santé")
def _optout_self(p: Principal, _t: Any) -> bool:
    return p.has_role(Role.CITIZEN)


@rule("datahub.optout.read", write=False, label_fr="consulter son opposition")
def _optout_read(p: Principal, _t: Any) -> bool:
    return p.has_role(Role.CITIZEN)


@rule("datahub.optout.count", write=False,
      label_fr="connaître le nombre d'oppositions enregistrées")
def _optout_count(p: Principal, _t: Any) -> bool:
    return p.has_role(*REVIEWERS, Role.TRUSTED_THIRD_PARTY, Role.ADMIN)
