"""Demo data of the hub: a small synthetic population registered in the catalogue and a
few projects at every step of the review, so that the registry and the queues mean
something. Idempotent: the files are written once, the projects created once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from esante.core.accounts import service as accounts
from esante.core.audit import Actor
from esante.core.policy import Principal
from esante.core.settings import get_settings
from esante.datahub import catalogue, projects
from esante.datahub.models import Project
from esante.datahub.schemas import (
    CompletenessIn,
    DecisionIn,
    Opinion,
    OpinionIn,
    ProjectIn,
    ResultsIn,
)
from esante.datahub.synth.generate import generate

DEMO_PEOPLE = 20_000
RESEARCHER = "chercheuse@demo.esante.fr"
REVIEWER = "evaluateur@hdh.demo.esante.fr"

_PROJECTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("closed", {
        "title": "Délais de prise en charge des fractures du col du fémur",
        "purpose": "Mesurer le délai entre l'admission et l'intervention chez les personnes "
                   "âgées, pour réduire les complications évitables.",
        "methodology": "MR-004", "conformity_commitment": True,
        "columns": ["synth-people.sex", "synth-people.birth_date", "synth-people.department",
                    "synth-stays.admission_date", "synth-stays.main_diagnosis"],
        "l": 2, "l_column": "synth-stays.main_diagnosis",
        "results": "Délai médian de 1,8 jour ; 14 % des patients opérés après 48 h."}),
    ("approved", {
        "title": "Consommation d'antalgiques opioïdes en ville",
        "purpose": "Décrire l'évolution des délivrances d'opioïdes faibles par âge et région "
                   "pour orienter la prévention du mésusage.",
        "methodology": "authorisation", "k": 10,
        "columns": ["synth-people.sex", "synth-people.birth_date", "synth-people.region",
                    "synth-claims.dispensed_on", "synth-claims.atc"]}),
    ("complete", {
        "title": "Hospitalisations pour bronchiolite du nourrisson",
        "purpose": "Estimer la charge hospitalière des bronchiolites par département pour "
                   "préparer les campagnes d'immunisation.",
        "methodology": "MR-004", "conformity_commitment": True,
        "columns": ["synth-people.birth_date", "synth-people.department",
                    "synth-stays.admission_date", "synth-stays.main_diagnosis"]}),
    ("submitted", {
        "title": "Parcours des patients insuffisants cardiaques",
        "purpose": "Relier séjours et traitements de ville pour mesurer les réhospitalisations "
                   "à 30 jours des insuffisants cardiaques.",
        "methodology": "authorisation",
        "columns": ["synth-people.sex", "synth-people.birth_date", "synth-stays.admission_date",
                    "synth-stays.main_diagnosis", "synth-claims.atc"]}),
)
_TEAM = [{"name": "Sofia Chevalier", "affiliation": "Inserm", "role": "investigatrice"}]


def seed_datahub(session: Session) -> tuple[int, int]:
    """(people in the synthetic population, projects created)."""
    folder = get_settings().data_dir / "datahub" / "synth"
    if not (folder / "manifest.json").is_file():
        generate(folder, people=DEMO_PEOPLE, seed=2026, chunk=DEMO_PEOPLE)
    catalogue.register_directory(session, actor=Actor.system("démo"), directory=folder)
    researcher = accounts.get_user_by_email(session, RESEARCHER)
    reviewer = accounts.get_user_by_email(session, REVIEWER)
    if researcher is None or reviewer is None or session.scalar(
            select(func.count()).select_from(Project)):
        return DEMO_PEOPLE, 0
    owner, hub = Principal.of(researcher), Principal.of(reviewer)
    for stage, spec in _PROJECTS:
        data = {k: v for k, v in spec.items() if k != "results"}
        body = ProjectIn.model_validate({
            "team": _TEAM, "duration_months": 24, "expected_outputs": "Tableaux agrégés et "
            "un article scientifique.", **data})
        project = projects.create(session, owner, body)
        projects.submit(session, owner, project)
        if stage == "submitted":
            continue
        projects.check_completeness(session, hub, project, CompletenessIn(complete=True))
        if stage == "complete":
            continue
        projects.give_opinion(session, hub, project, OpinionIn(
            opinion=Opinion.FAVOURABLE, reasons="Finalité d'intérêt public établie, données "
            "proportionnées."))
        if project.status == "opinion_given":
            projects.decide(session, hub, project, DecisionIn(authorised=True,
                                                               reasons="Conforme à l'avis."))
        if stage == "closed":
            projects.publish_results(session, owner, project,
                                     ResultsIn(results=str(spec["results"])))
    return DEMO_PEOPLE, len(_PROJECTS)
