"""What the extraction pipeline receives for an approved project: a plain dictionary.

The pipeline (``esante.datahub.pipeline``) reads the datasets' Parquet files, keeps the
requested columns only, replaces ``person_id_column`` by a per-project pseudonym, drops the
people whose holders objected (``optout.opted_out_person_ids`` on ``people``), generalises
the quasi-identifiers along their ``hierarchy`` until every class has ``k`` rows (and ``l``
distinct values of ``l_column``), suppressing at most ``suppression_limit`` of the rows.
The shape is documented in docs/datahub.md."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from esante.core.errors import Conflict, NotFound
from esante.datahub.models import Dataset, Project
from esante.datahub.projects import STATUS_LABELS, requested

PEOPLE_SLUG = "synth-people"


def extract_request(session: Session, project_id: int) -> dict[str, Any]:
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound("projet introuvable", "project not found")
    if project.status != "approved" or project.approved_k is None:
        raise Conflict(f"seul un projet autorisé s'extrait : ce projet est à l'étape "
                       f"« {STATUS_LABELS[project.status]} »",
                       "only an approved project can be extracted", code="not-approved")
    datasets: dict[str, dict[str, Any]] = {}
    for ds, col in requested(session, project):
        entry = datasets.setdefault(ds.slug, {
            "slug": ds.slug, "path": ds.path, "rows": ds.row_count,
            "person_id_column": ds.person_id_column, "columns": []})
        entry["columns"].append({"name": col.name, "type": col.data_type,
                                 "sensitivity": col.sensitivity, "hierarchy": col.hierarchy})
    l_column = None
    if project.approved_l is not None and project.approved_l_column:
        slug, _, name = project.approved_l_column.partition(".")
        l_column = {"dataset": slug, "column": name}
    people = session.scalar(select(Dataset).where(Dataset.slug == PEOPLE_SLUG))
    return {
        "project_id": project.id,
        "reference": project.reference,
        "datasets": list(datasets.values()),
        "k": project.approved_k,
        "l": project.approved_l,
        "l_column": l_column,
        "suppression_limit": project.suppression_limit,
        "date_shift": project.date_shift,
        "linkage": project.linkage,
        "people": None if people is None else {
            "path": people.path, "id_column": people.person_id_column, "nir_column": "nir"},
    }
