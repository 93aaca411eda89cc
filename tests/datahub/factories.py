"""Data-hub test objects: a small synthetic dataset (written once per run), the catalogue
registered from it, projects brought to each step of the review."""

from __future__ import annotations

import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from esante.core.audit import Actor
from esante.core.policy import Principal
from esante.datahub import catalogue, projects
from esante.datahub.models import Project
from esante.datahub.schemas import CompletenessIn, DecisionIn, OpinionIn, ProjectIn
from esante.datahub.synth.generate import generate
from tests.factories import Personas

NIR = "279035121518989"  # a known test NIR (ansforge/hl7V2-exemples)
STAGES = ("draft", "submitted", "complete", "opinion_given", "approved", "closed")


@cache
def synth_dir() -> Path:
    out = Path(tempfile.mkdtemp(prefix="esante-hub-")) / "synth"
    generate(out, people=3000, seed=7, chunk=1000)
    return out


def register(db: Session) -> None:
    catalogue.register_directory(db, actor=Actor.system("tests"), directory=synth_dir())


def body(**overrides: Any) -> ProjectIn:
    data: dict[str, Any] = {
        "title": "Parcours de soins après une fracture du col du fémur",
        "purpose": "Mesurer les délais de prise en charge et les réhospitalisations, pour "
                   "améliorer l'organisation des filières gériatriques.",
        "team": [{"name": "Dr Claire Martin", "affiliation": "Inserm", "role": "investigatrice"}],
        "methodology": "authorisation", "methodology_details": "Étude de cohorte rétrospective.",
        "columns": ["synth-people.sex", "synth-people.birth_date", "synth-people.department",
                    "synth-stays.admission_date", "synth-stays.main_diagnosis"],
        "duration_months": 24, "expected_outputs": "Un article, des tableaux agrégés.",
        "k": 5, "l": 2, "l_column": "synth-stays.main_diagnosis"}
    data.update(overrides)
    return ProjectIn.model_validate(data)


def principal(personas: Personas, name: str) -> Principal:
    return Principal.of(personas.users[name])


def make_project(db: Session, personas: Personas, stage: str, **overrides: Any) -> Project:
    """A project of the researcher persona, brought to ``stage`` through the service."""
    register(db)
    owner, reviewer = principal(personas, "researcher"), principal(personas, "hub_reviewer")
    project = projects.create(db, owner, body(**overrides))
    steps = STAGES[1:STAGES.index(stage) + 1]
    for step in steps:
        if step == "submitted":
            projects.submit(db, owner, project)
        elif step == "complete":
            projects.check_completeness(db, reviewer, project, CompletenessIn(complete=True))
        elif step == "opinion_given":
            projects.give_opinion(db, reviewer, project, OpinionIn(
                opinion="favourable", reasons="Finalité d'intérêt public claire."))
        elif step == "approved":
            projects.decide(db, reviewer, project, DecisionIn(authorised=True,
                                                              reasons="Conforme."))
        elif step == "closed":
            from esante.datahub.schemas import ResultsIn

            projects.publish_results(db, owner, project, ResultsIn(results="Délai médian : 2 j."))
    db.flush()
    return project
