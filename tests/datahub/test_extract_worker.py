"""Extracts in the background worker: queued through the API, run by the worker from the real
queue, the report then readable; an extract left ``running`` by a worker that died is put
back in the queue by the sweep (its half-written folder removed), at most twice; a queued
extract whose message was lost is handed to the worker again."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from esante.core.audit import AuditEvent
from esante.core.db import utcnow
from esante.datahub import extracts
from esante.datahub.models import Extract, ProjectEvent
from tests.conftest import on_test_connection
from tests.datahub.factories import make_project, principal


@pytest.fixture
def worker_db(db: Session, monkeypatch: pytest.MonkeyPatch) -> Session:
    """The worker's transactions, inside the test's own (rolled back at the end)."""
    factory = on_test_connection(db)

    @contextmanager
    def transaction(engine: object = None) -> Iterator[Session]:
        session = factory()
        try:
            yield session
            session.commit()
        finally:
            session.close()

    monkeypatch.setattr("esante.core.db.transaction", transaction)
    monkeypatch.setattr("esante.worker.transaction", transaction)
    return db


def test_extract_queued_through_the_api_is_run_by_the_worker(
    client, personas, worker_db, hub_dirs, monkeypatch  # type: ignore[no-untyped-def]
) -> None:
    from esante.worker import huey

    db = worker_db
    project = make_project(db, personas, "approved")
    monkeypatch.setenv("ESANTE_DATAHUB_INLINE_ROWS_MAX", "10")  # every extract goes to the worker
    huey.flush()
    r = client.post(f"/api/datahub/projects/{project.id}/extracts", json={"engine": "duckdb"},
                    headers=personas.auth("hub_reviewer"))
    assert r.status_code == 202 and r.json()["status"] == "queued", r.text
    extract_id = r.json()["id"]
    # The worker's side: the message from the queue, run as ``esante worker`` runs it.
    task = huey.dequeue()
    assert task is not None and task.name == "run_extract_job" and task.args == (extract_id,)
    assert huey.execute(task) == "done"
    assert huey.dequeue() is None
    assert db.get_one(Extract, extract_id).heartbeat_at is not None  # the worker said it lived
    listed = client.get(f"/api/datahub/projects/{project.id}/extracts",
                        headers=personas.auth("hub_reviewer")).json()
    assert [(x["id"], x["status"]) for x in listed] == [(extract_id, "done")]
    ex = db.get_one(Extract, extract_id)
    db.refresh(ex)
    assert Path(ex.out_dir).is_relative_to(hub_dirs) and (Path(ex.out_dir) / "report.pdf").is_file()
    tables = {t["name"]: t for t in ex.report["tables"]}
    assert tables["synth_people"]["k_reached"] >= 5
    # The project's author reads the report the worker wrote.
    from tests.core.test_auth import login

    login(client, personas, "researcher")
    page = client.get(f"/donnees-de-sante/projets/{project.id}/extractions/{extract_id}")
    assert page.status_code == 200 and "Rapport de risque de l'extraction" in page.text


def _crash(db: Session, ex: Extract, hours: float) -> Path:
    """The worker started the extract and died ``hours`` ago, its temporary folder left."""
    started = extracts.start(db, ex.id)
    assert started is not None and ex.status == "running"
    ex.started_at = utcnow() - timedelta(hours=hours)
    leftover = started.out.parent / f".{started.out.name}.tmp-x1y2"
    leftover.mkdir(parents=True)
    (leftover / "synth_people.parquet").write_bytes(b"half")
    db.flush()
    return leftover


def test_sweep_requeues_an_extract_whose_worker_died(personas, worker_db, hub_dirs) -> None:
    db = worker_db
    project = make_project(db, personas, "approved")
    ex = extracts.launch(db, principal(personas, "hub_reviewer"), project, engine="duckdb")
    leftover = _crash(db, ex, hours=0.5)
    assert extracts.sweep(db) == []  # running for half an hour: maybe a large extract, left alone
    assert ex.status == "running" and leftover.exists()

    ex.started_at = utcnow() - timedelta(hours=7)  # past ESANTE_DATAHUB_EXTRACT_STALE_MINUTES (6 h)
    assert extracts.sweep(db) == [ex.id]
    assert ex.status == "queued" and ex.started_at is None and not leftover.exists()
    events = db.scalars(select(ProjectEvent).where(
        ProjectEvent.project_id == project.id, ProjectEvent.kind == "extract_requeued")).all()
    assert len(events) == 1 and "relancée (1/2)" in events[0].text
    assert db.scalars(select(AuditEvent).where(AuditEvent.action == "datahub.extract.requeued",
                                               AuditEvent.object_id == str(project.id))).one()
    # The worker runs it again, this time to the end.
    assert extracts.execute(db, ex.id).status == "done"
    assert (Path(ex.out_dir) / "report.json").is_file()


def test_sweep_judges_a_worker_run_by_its_heartbeat(personas, worker_db, hub_dirs) -> None:
    db = worker_db
    project = make_project(db, personas, "approved")
    ex = extracts.launch(db, principal(personas, "hub_reviewer"), project, engine="duckdb")
    _crash(db, ex, hours=7)
    ex.heartbeat_at = utcnow() - timedelta(minutes=2)  # a long run, its worker still alive
    assert extracts.sweep(db) == [] and ex.status == "running"
    ex.started_at = utcnow() - timedelta(minutes=10)
    ex.heartbeat_at = utcnow() - timedelta(minutes=6)  # silent for longer than 5 minutes
    assert extracts.sweep(db) == [ex.id]
    assert ex.status == "queued" and ex.heartbeat_at is None


def test_the_worker_beats_while_the_pipeline_runs(
        personas, worker_db, hub_dirs, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    db = worker_db
    project = make_project(db, personas, "approved")
    ex = extracts.launch(db, principal(personas, "hub_reviewer"), project, engine="duckdb")
    db.commit()
    monkeypatch.setenv("ESANTE_DATAHUB_EXTRACT_HEARTBEAT_SECONDS", "0.05")
    beats: list[float] = []
    beat = extracts._Heartbeat.beat

    def counted(self):  # type: ignore[no-untyped-def]
        beats.append(time.monotonic())
        beat(self)

    real = extracts.pipeline

    def slow(started):  # type: ignore[no-untyped-def]
        time.sleep(0.5)  # the database untouched here: only the heartbeat writes
        return real(started)

    monkeypatch.setattr(extracts._Heartbeat, "beat", counted)
    monkeypatch.setattr(extracts, "pipeline", slow)
    assert extracts.run_job(ex.id) == "done"
    assert len(beats) >= 4  # one at the start, then every 0.05 s of the run
    db.expire_all()
    done = db.get_one(Extract, ex.id)
    assert done.heartbeat_at is not None and done.heartbeat_at <= done.finished_at


def test_an_extract_that_keeps_killing_its_worker_fails_after_two_retries(
    personas, worker_db, hub_dirs  # type: ignore[no-untyped-def]
) -> None:
    db = worker_db
    project = make_project(db, personas, "approved")
    ex = extracts.launch(db, principal(personas, "hub_reviewer"), project, engine="duckdb")
    for _ in range(2):
        _crash(db, ex, hours=7)
        assert extracts.sweep(db) == [ex.id] and ex.status == "queued"
    leftover = _crash(db, ex, hours=7)
    assert extracts.sweep(db) == []
    assert ex.status == "failed" and "interrompue 3 fois" in ex.error and not leftover.exists()


def test_sweep_hands_a_lost_queued_extract_to_the_worker_again(
    personas, worker_db, hub_dirs, monkeypatch  # type: ignore[no-untyped-def]
) -> None:
    db = worker_db
    project = make_project(db, personas, "approved")
    ex = extracts.launch(db, principal(personas, "hub_reviewer"), project, engine="duckdb")
    assert extracts.sweep(db) == []  # just queued: its message is on its way
    ex.created_at = utcnow() - timedelta(minutes=11)
    db.flush()
    ran: list[int] = []
    monkeypatch.setattr("esante.worker.run_extract_job", ran.append)
    from esante.worker import sweep_extracts

    assert sweep_extracts.call_local() == 1 and ran == [ex.id]
