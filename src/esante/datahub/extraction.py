"""An approved project's extract, end to end: its request (``extract.extract_request``), the
opt-out register at the time of extraction, the catalogue's hierarchies turned into the
pipeline's, the trusted third party's key for the project, the pipeline itself, and the
audit record of what left.

The catalogue names a column's hierarchy in one word; here is what each becomes:

- ``age`` (a birth date) and ``date``: the date, then its month, then its year, then ``*``;
  shifted per person first when the decision asked for it (``Project.date_shift``);
- ``geography``: a commune → its department → its region; a department → its region; a
  FINESS number → its department (its first two characters); a region → ``*``;
- a quasi-identifier without one (sex): the value or ``*``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy.orm import Session

from esante.core import audit
from esante.core.audit import Actor
from esante.core.errors import Invalid
from esante.datahub import optout
from esante.datahub.extract import extract_request
from esante.datahub.pipeline.geography import DEPARTMENT_REGION, commune_hierarchy
from esante.datahub.pipeline.spec import (
    ColumnSpec,
    DateHierarchy,
    ExtractReport,
    ExtractSpec,
    MappingHierarchy,
    PrefixHierarchy,
    Sensitivity,
    TableSpec,
)


def _distinct(path: Path, column: str) -> list[str]:
    values = pc.unique(pq.read_table(path, columns=[column]).column(column))
    return [str(v) for v in values.to_pylist() if v is not None]


def _hierarchy(path: Path, column: str, kind: str, *, date_shift: bool = False) -> Any:
    if kind in ("age", "date"):
        # Shifted, a person's dates (birth date included) keep their intervals: ages at an
        # event stay exact.
        return DateHierarchy(levels=["month", "year"], shift=date_shift)
    if kind == "geography":
        if column == "commune":
            return commune_hierarchy(_distinct(path, column))
        if column == "department":
            return MappingHierarchy(levels=[dict(DEPARTMENT_REGION)])
        if column == "finess":
            return PrefixHierarchy(lengths=[2])
    return MappingHierarchy(levels=[])  # the value, or "*"


def _table_name(slug: str) -> str:
    return slug.replace("-", "_")


def build_spec(session: Session, project_id: int, *, actor: Actor) -> ExtractSpec:
    """The pipeline's spec for an approved project, with today's opt-outs."""
    req = extract_request(session, project_id)
    tables: dict[str, TableSpec] = {}
    person_columns = {d["person_id_column"] for d in req["datasets"]}
    if len(person_columns) != 1:
        raise Invalid("les jeux demandés n'ont pas la même colonne d'identifiant de personne",
                      "the requested datasets do not share one person-id column")
    pid = person_columns.pop()
    for dataset in req["datasets"]:
        path = Path(dataset["path"])
        columns: dict[str, ColumnSpec] = {}
        for col in dataset["columns"]:
            sensitivity = Sensitivity(col["sensitivity"])
            if col["name"] == pid:
                continue  # replaced by the project's pseudonym
            hierarchy = (_hierarchy(path, col["name"], col["hierarchy"] or "",
                                    date_shift=bool(req.get("date_shift")))
                         if sensitivity is Sensitivity.quasi_identifier else None)
            columns[col["name"]] = ColumnSpec(sensitivity=sensitivity, hierarchy=hierarchy)
        tables[_table_name(dataset["slug"])] = TableSpec(path=path, columns=columns)
    opted: set[int] = set()
    if req["people"] is not None:
        opted = optout.opted_out_person_ids(
            session, actor=actor, people=Path(req["people"]["path"]),
            nir_column=req["people"]["nir_column"], id_column=req["people"]["id_column"],
            project_id=project_id)
    sensitive = req["l_column"]["column"] if req["l_column"] else None
    return ExtractSpec(project_id=str(req["reference"] or req["project_id"]), tables=tables,
                       person_id_column=pid, k=req["k"], l=req["l"],
                       sensitive_column=sensitive,
                       max_suppression=req["suppression_limit"] if req["suppression_limit"]
                       is not None else 0.1,
                       opted_out=frozenset(str(i) for i in opted))


def record(session: Session, project_id: int, report: ExtractReport, *, actor: Actor) -> None:
    """What left, in the audit trail: counts and measured risk, never a value."""
    audit.record(session, actor=actor, action="datahub.extract", object_type="project",
                 object_id=project_id, details={
                     "engine": report.engine, "key": report.key_fingerprint,
                     "opted_out": report.opted_out_people,
                     "tables": {t.name: {"rows": t.rows_out, "suppressed": t.rows_suppressed,
                                         "k": t.k_reached, "l": t.l_reached}
                                for t in report.tables}})
