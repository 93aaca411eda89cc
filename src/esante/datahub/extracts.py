"""Extract runs of an approved project, launched from its page (or the API).

An authorised role (``datahub.extract.run``: the hub's reviewers, the trusted third party)
launches an extract on an engine; a small one (the requested datasets hold at most the
``ESANTE_DATAHUB_INLINE_ROWS_MAX`` rows) runs at once, a larger one in the worker
(``esante worker``, huey task ``run_extract_job``), in three steps so that no database
transaction stays open while the pipeline runs: ``start`` (marked running, the spec built
with the day's opt-outs), ``pipeline`` (no session), ``finish`` (the report stored, the
audit record of what left, a line on the project's public timeline). A failed run keeps its
precise French error; its partial files never exist (the pipeline writes to a temporary
folder renamed at the end)."""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from esante.core import audit, policy
from esante.core.audit import Actor
from esante.core.db import utcnow
from esante.core.errors import Conflict, DomainError, Invalid, NotFound
from esante.core.policy import Principal
from esante.core.settings import get_settings
from esante.datahub import extraction
from esante.datahub.extract import extract_request
from esante.datahub.models import Extract, Project, ProjectEvent
from esante.datahub.pipeline.spec import ExtractReport, ExtractSpec
from esante.datahub.pipeline.ttp import PipelineSettings

log = logging.getLogger("esante.datahub.extracts")

ENGINES = {"duckdb": "DuckDB (embarqué)", "spark": "Apache Spark"}
STATUS_LABELS = {"queued": "En file d'attente", "running": "En cours", "done": "Terminée",
                 "failed": "En échec"}


def _actor(ex: Extract) -> Actor:
    return Actor(user_id=ex.requested_by, label=ex.requested_by_label)


def out_dir(ex: Extract) -> Path:
    folder = PipelineSettings().extracts_dir
    root = folder if folder.is_absolute() else get_settings().data_dir / folder
    return root / f"projet-{ex.project_id}" / f"extraction-{ex.id}"


def launch(session: Session, p: Principal, project: Project, *, engine: str) -> Extract:
    policy.authorize(p, "datahub.extract.run", project)
    if engine not in ENGINES:
        raise Invalid(f"moteur inconnu : {engine[:20]} (duckdb ou spark)", "unknown engine",
                      code="unknown-engine")
    extract_request(session, project.id)  # only an approved project (a precise refusal)
    active = session.scalar(select(func.count()).select_from(Extract).where(
        Extract.project_id == project.id, Extract.status.in_(("queued", "running")))) or 0
    if active:
        raise Conflict("une extraction de ce projet est déjà en cours : attendez sa fin",
                       "an extract of this project is already running", code="extract-running")
    ex = Extract(project_id=project.id, engine=engine, status="queued", requested_by=p.user.id,
                 requested_by_label=p.user.display_name, created_at=utcnow(), report={})
    session.add(ex)
    session.flush()
    audit.record(session, actor=p.actor, action="datahub.extract.launch", object_type="project",
                 object_id=project.id, details={"extract": ex.id, "engine": engine})
    return ex


def runs_inline(session: Session, ex: Extract) -> bool:
    """Small enough to run in the request that launched it."""
    rows = sum(int(d["rows"] or 0) for d in extract_request(session, ex.project_id)["datasets"])
    return rows <= PipelineSettings().inline_rows_max


def dispatch(extract_id: int) -> None:
    """Hand a committed extract to the background worker (tests replace this)."""
    from esante.worker import run_extract_job

    run_extract_job(extract_id)


@dataclass
class _Started:
    extract_id: int
    engine: str
    spec: ExtractSpec
    out: Path


def start(session: Session, extract_id: int) -> _Started | None:
    """Mark a queued extract running and build its spec; None when there is nothing to do."""
    ex = session.get(Extract, extract_id, with_for_update=True)  # two messages, one run
    if ex is None or ex.status != "queued":
        return None
    ex.status, ex.started_at, ex.heartbeat_at = "running", utcnow(), None
    try:
        spec = extraction.build_spec(session, ex.project_id, actor=_actor(ex))
    except DomainError as exc:
        _failed(session, ex, exc.fr)
        return None
    session.flush()
    return _Started(ex.id, ex.engine, spec, out_dir(ex))


def pipeline(started: _Started) -> ExtractReport | str:
    """The pipeline itself, outside any transaction: the report, or the French error."""
    from esante.datahub.pipeline.extract import run_extract
    from esante.datahub.pipeline.ttp import project_key

    try:
        key = project_key(started.spec.project_id)
        return run_extract(started.spec, engine=started.engine,  # type: ignore[arg-type]
                           out_dir=started.out, key=key)
    except DomainError as exc:
        return exc.fr


def finish(session: Session, extract_id: int, outcome: ExtractReport | str) -> Extract:
    ex = session.get(Extract, extract_id)
    assert ex is not None
    if isinstance(outcome, str):
        _failed(session, ex, outcome)
        return ex
    ex.status, ex.finished_at = "done", utcnow()
    ex.out_dir = str(outcome.out_dir)
    ex.report = json.loads(outcome.model_dump_json())
    extraction.record(session, ex.project_id, outcome, actor=_actor(ex))
    k = [t.k_reached for t in outcome.tables if t.k_reached]
    _timeline(session, ex, "extract", f"{ENGINES[ex.engine]} : {len(outcome.tables)} table(s), "
              f"k atteint {min(k) if k else '—'}, {outcome.opted_out_people} opposition(s) "
              "appliquée(s)")
    return ex


def _failed(session: Session, ex: Extract, error: str) -> None:
    ex.status, ex.finished_at, ex.error = "failed", utcnow(), error[:500]
    audit.record(session, actor=_actor(ex), action="datahub.extract.failed",
                 object_type="project", object_id=ex.project_id,
                 details={"extract": ex.id, "engine": ex.engine})
    _timeline(session, ex, "extract_failed", error[:300])


def _timeline(session: Session, ex: Extract, kind: str, text: str) -> None:
    session.add(ProjectEvent(project_id=ex.project_id, at=utcnow(), actor_id=ex.requested_by,
                             actor_label=ex.requested_by_label, kind=kind, text=text,
                             data={"extract": ex.id}))
    session.flush()


def execute(session: Session, extract_id: int) -> Extract:
    """The three steps in one session (a small extract, in the request that launched it)."""
    started = start(session, extract_id)
    if started is not None:
        finish(session, extract_id, pipeline(started))
    ex = session.get(Extract, extract_id)
    assert ex is not None
    return ex


def run_job(extract_id: int) -> str:
    """The worker's run: each step in its own transaction."""
    from esante.core.db import transaction

    with transaction() as session:
        started = start(session, extract_id)
    if started is None:
        return "nothing to do"
    with _Heartbeat(extract_id, PipelineSettings().extract_heartbeat_seconds):
        outcome = pipeline(started)
    with transaction() as session:
        return finish(session, extract_id, outcome).status


class _Heartbeat(threading.Thread):
    """While the pipeline runs, stamps the extract's ``heartbeat_at`` every ``every``
    seconds, each in its own short transaction (a failed stamp is tried again later)."""

    def __init__(self, extract_id: int, every: float) -> None:
        super().__init__(name=f"extract-{extract_id}-heartbeat", daemon=True)
        self.extract_id, self.every = extract_id, every
        self.stopped = threading.Event()

    def __enter__(self) -> _Heartbeat:
        self.beat()
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stopped.set()
        self.join()

    def run(self) -> None:
        while not self.stopped.wait(self.every):
            self.beat()

    def beat(self) -> None:
        from esante.core.db import transaction

        try:
            with transaction() as session:
                session.execute(update(Extract).where(
                    Extract.id == self.extract_id, Extract.status == "running")
                    .values(heartbeat_at=utcnow()))
        except SQLAlchemyError:
            log.warning("datahub: extract %d heartbeat not recorded", self.extract_id)


# --- sweep -------------------------------------------------------------------------------------

STALE_QUEUED = timedelta(minutes=10)  # a queued extract whose message the worker never got
MAX_REQUEUES = 2  # an extract that kills its worker each time fails after this many retries


def sweep(session: Session) -> list[int]:
    """Extracts a worker left behind, to hand to the worker again (after commit).

    Still ``running`` but not heard of by their worker for
    ``ESANTE_DATAHUB_EXTRACT_SILENT_MINUTES`` (or, never heard of, past
    ``ESANTE_DATAHUB_EXTRACT_STALE_MINUTES`` after their start): the worker died mid-run (its
    process killed, the machine restarted); the half-written folder it may have left (the
    pipeline's temporary one) is removed and the run goes back to the queue, at most
    ``MAX_REQUEUES`` times, after which it fails with a French error. Still ``queued`` long
    after launch: the queue message was lost (the queue was down). Each re-queue is on the
    project's timeline and in the audit."""
    import shutil

    now = utcnow()
    settings = PipelineSettings()
    stale = now - timedelta(minutes=settings.extract_stale_minutes)
    silent = now - timedelta(minutes=settings.extract_silent_minutes)
    again: list[int] = []
    for ex in session.scalars(select(Extract).where(
            Extract.status == "running",
            or_(and_(Extract.heartbeat_at.is_(None), Extract.started_at <= stale),
                Extract.heartbeat_at <= silent)).with_for_update()):
        out = out_dir(ex)
        for leftover in out.parent.glob(f".{out.name}.tmp-*"):
            shutil.rmtree(leftover, ignore_errors=True)
        tries = sum(1 for e in session.scalars(select(ProjectEvent).where(
            ProjectEvent.project_id == ex.project_id, ProjectEvent.kind == "extract_requeued"))
            if e.data.get("extract") == ex.id)
        if tries >= MAX_REQUEUES:
            _failed(session, ex, f"extraction interrompue {tries + 1} fois (processus de fond arrêté "
                    "en cours de route) : relancez-la ou réduisez les jeux demandés")
            continue
        ex.status, ex.started_at, ex.heartbeat_at = "queued", None, None
        audit.record(session, actor=Actor.system("worker"), action="datahub.extract.requeued",
                     object_type="project", object_id=ex.project_id,
                     details={"extract": ex.id, "engine": ex.engine, "retry": tries + 1})
        session.add(ProjectEvent(project_id=ex.project_id, at=now, actor_id=None,
                                 actor_label="Processus de fond", kind="extract_requeued",
                                 text=f"Extraction {ex.id} interrompue, relancée "
                                 f"({tries + 1}/{MAX_REQUEUES})",
                                 data={"extract": ex.id}))
        again.append(ex.id)
    session.flush()
    again += session.scalars(select(Extract.id).where(
        Extract.status == "queued", Extract.created_at <= now - STALE_QUEUED))
    return sorted(set(again))


# --- reading -----------------------------------------------------------------------------------

def of_project(session: Session, project: Project) -> list[Extract]:
    return list(session.scalars(select(Extract).where(Extract.project_id == project.id)
                                .order_by(Extract.created_at.desc(), Extract.id.desc())))


def get(session: Session, p: Principal | None, project: Project, extract_id: int) -> Extract:
    """One extract of the project, for those who may read its risk reports."""
    if p is None or not policy.can(p, "datahub.extract.report", project):
        raise NotFound("extraction introuvable", "extract not found")
    ex = session.get(Extract, extract_id)
    if ex is None or ex.project_id != project.id:
        raise NotFound("extraction introuvable", "extract not found")
    return ex


def report_of(ex: Extract) -> ExtractReport:
    if ex.status != "done" or not ex.report:
        raise NotFound("pas de rapport : l'extraction n'est pas terminée",
                       "no report: the extract is not done")
    return ExtractReport.model_validate(ex.report)


def pdf_path(ex: Extract) -> Path:
    report_of(ex)
    path = Path(ex.out_dir) / "report.pdf"
    if not path.is_file():
        raise NotFound("rapport PDF introuvable (dossier d'extraction retiré)",
                       "PDF report not found")
    return path


def extract_out(ex: Extract) -> dict[str, Any]:
    return {"id": ex.id, "project_id": ex.project_id, "engine": ex.engine, "status": ex.status,
            "status_label": STATUS_LABELS[ex.status], "requested_by": ex.requested_by_label,
            "created_at": ex.created_at, "started_at": ex.started_at,
            "finished_at": ex.finished_at, "error": ex.error or None,
            "report": ex.report or None}
