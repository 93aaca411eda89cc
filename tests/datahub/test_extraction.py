"""An approved project's extract, end to end: the project's columns only, the day's
opt-outs left out, pseudonyms of the project, the approved k and l reached (checked
independently with pycanon), the audit record of what left; refusals leave nothing."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
from pycanon import anonymity
from sqlalchemy import select

from esante.core.audit import Actor, AuditEvent
from esante.core.errors import Conflict
from esante.datahub import extraction, optout
from esante.datahub.pipeline.extract import run_extract
from tests.datahub.factories import make_project, principal, synth_dir

KEY = bytes(range(32))


def test_approved_project_is_extracted(db, personas, tmp_path) -> None:
    project = make_project(db, personas, "approved")
    people = pq.read_table(synth_dir() / "people.parquet").slice(0, 2).to_pylist()
    for person in people:
        optout.record(db, principal(personas, "citizen"), nir=person["nir"])
    actor = Actor.system("tests")
    spec = extraction.build_spec(db, project.id, actor=actor)
    assert spec.k == 5 and spec.l == 2 and spec.sensitive_column == "main_diagnosis"
    assert set(spec.tables) == {"synth_people", "synth_stays"}
    assert set(spec.tables["synth_people"].columns) == {"sex", "birth_date", "department"}
    assert spec.opted_out == {str(p["person_id"]) for p in people}
    out = tmp_path / "extract"
    report = run_extract(spec, out_dir=out, key=KEY)
    extraction.record(db, project.id, report, actor=actor)
    extracted = pq.read_table(out / "synth_people.parquet").to_pandas()
    # the requested columns, the pseudonym, nothing else; the objectors are gone
    assert set(extracted.columns) == {"pseudonym", "sex", "birth_date", "department"}
    by_name = {t.name: t for t in report.tables}
    assert by_name["synth_people"].rows_opted_out == 2 and report.opted_out_people == 2
    assert len(extracted) == 3000 - 2 - by_name["synth_people"].rows_suppressed
    assert not {str(p["person_id"]) for p in people} & set(extracted["pseudonym"].astype(str))
    assert anonymity.k_anonymity(extracted, ["sex", "birth_date", "department"]) >= 5
    stays = pq.read_table(out / "synth_stays.parquet").to_pandas()
    from pycanon import anonymity as a

    assert a.l_diversity(stays, ["admission_date"], ["main_diagnosis"]) >= 2
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "datahub.extract")).one()
    assert event.object_id == str(project.id)
    assert event.details["opted_out"] == 2 and "synth_people" in event.details["tables"]


def test_only_an_approved_project_is_extracted(db, personas) -> None:
    project = make_project(db, personas, "complete")
    with pytest.raises(Conflict, match="seul un projet autorisé"):
        extraction.build_spec(db, project.id, actor=Actor.system("tests"))


def test_decision_with_date_shift_shifts_every_date_of_a_person(db, personas, tmp_path) -> None:
    from esante.datahub import projects
    from esante.datahub.pipeline.spec import DateHierarchy
    from esante.datahub.schemas import DecisionIn

    project = make_project(db, personas, "opinion_given")
    projects.decide(db, principal(personas, "hub_reviewer"), project, DecisionIn(
        authorised=True, reasons="Conforme, dates décalées.", date_shift=True))
    assert project.date_shift
    spec = extraction.build_spec(db, project.id, actor=Actor.system("tests"))
    dates = {name: t.columns[c].hierarchy for name, t in spec.tables.items()
             for c in ("birth_date", "admission_date") if c in t.columns}
    assert dates and all(isinstance(h, DateHierarchy) and h.shift for h in dates.values())
    report = run_extract(spec, out_dir=tmp_path / "extract", key=KEY)
    shifted = [c for t in report.tables for c in t.columns if c.date_shift_max_days]
    assert {c.name for c in shifted} == {"birth_date", "admission_date"}
    assert all(t.k_reached >= 5 for t in report.tables)
