"""FHIR Bulk Data export (``$export``, Bulk Data Access v2, asynchronous pattern).

Kick-off (``kick_off``) records an ``ExportJob`` and hands it to the worker; the worker
(``run_export``) pages through the store by primary key, writes NDJSON files encrypted
with ``BlobStore`` (one file per resource type, split beyond ``FILE_MAX`` resources) and
records one audit event per patient exported. The job's owner polls its status, reads the
manifest and downloads the files; nobody else sees them. Jobs expire (setting
``fhir_export_hours``) and ``purge_expired`` removes them with their files and data keys.

What an export contains is what the caller may read, by the same rule as searches
(``Access.search_filter``); the system level is the ``fhir.export.system`` permission
(the whole store). ``export_to_dir`` is the operator's command (``esante fhir export``).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.sql.elements import ColumnElement

from esante.core import audit
from esante.core.accounts.models import User
from esante.core.audit import Actor
from esante.core.crypto import BlobStore, DataKey, Vault
from esante.core.db import utcnow
from esante.core.policy import Principal, authorize
from esante.core.settings import Settings, get_settings
from esante.fhir.access import Access
from esante.fhir.bulk_models import ExportJob
from esante.fhir.models import FhirRefIndex, FhirResource
from esante.fhir.outcome import FhirError
from esante.fhir.searchparams import SUPPORTED_TYPES
from esante.fhir.store import fhir_instant

log = logging.getLogger(__name__)

NDJSON = "application/fhir+ndjson"
OUTPUT_FORMATS = frozenset({"application/fhir+ndjson", "application/ndjson", "ndjson"})
# AuditEvent is the platform's audit trail, not a stored resource.
EXPORTABLE = tuple(t for t in SUPPORTED_TYPES if t != "AuditEvent")
KNOWN_PARAMS = frozenset({"_type", "_since", "_outputFormat"})
PAGE = 200  # resources read per query (and per short transaction)
FILE_MAX = 20_000  # resources per NDJSON file; more make another file of the same type
FILE_MAX_BYTES = 32 * 1024 * 1024
MAX_ACTIVE_JOBS = 3  # queued or running, per user
BLOB_PURPOSE = "fhir-export"
STALE_QUEUED = timedelta(minutes=5)  # a queued job the sweep (re)dispatches


# --- kick-off -----------------------------------------------------------------------------

@dataclass(frozen=True)
class ExportRequest:
    types: tuple[str, ...]
    since: datetime | None


def _bad(fr: str, en: str, code: str = "invalid") -> FhirError:
    return FhirError(400, fr, en, code=code)


def parse_since(value: str) -> datetime:
    try:
        at = datetime.fromisoformat(value.strip())
    except ValueError:
        raise _bad(f"_since n'est pas un instant FHIR : {value[:40]}",
                   f"_since is not a FHIR instant: {value[:40]}", "value") from None
    if at.tzinfo is None:
        raise _bad("_since doit préciser le fuseau (ex. 2026-01-01T00:00:00Z)",
                   "_since must include a time zone", "value")
    return at


def parse_types(value: str) -> tuple[str, ...]:
    out: list[str] = []
    for raw in value.split(","):
        name = raw.strip()
        if not name:
            continue
        if name not in EXPORTABLE:
            raise _bad(f"_type : type de ressource non exporté : {name[:40]}",
                       f"_type: resource type not exported: {name[:40]}", "not-supported")
        if name not in out:
            out.append(name)
    return tuple(out)


def parse_request(items: Sequence[tuple[str, str]], prefer: str) -> ExportRequest:
    """The kick-off parameters, as the Bulk Data specification asks them."""
    if "respond-async" not in prefer.lower():
        raise _bad("l'export demande l'en-tête Prefer: respond-async",
                   "$export requires the header Prefer: respond-async", "required")
    lenient = "handling=lenient" in prefer.lower()
    types: list[str] = []
    since: datetime | None = None
    for key, value in items:
        if key == "_outputFormat":
            if value.strip() not in OUTPUT_FORMATS:
                raise _bad(f"_outputFormat non pris en charge : {value[:60]} (NDJSON "
                           "uniquement)", f"unsupported _outputFormat: {value[:60]}",
                           "not-supported")
        elif key == "_type":
            types += [t for t in parse_types(value) if t not in types]
        elif key == "_since":
            since = parse_since(value)
        elif key not in KNOWN_PARAMS and not lenient:
            raise _bad(f"paramètre d'export non pris en charge : {key[:40]}",
                       f"unsupported $export parameter: {key[:40]}", "not-supported")
    return ExportRequest(tuple(types), since)


def _group_row(session: Session, fid: str) -> FhirResource:
    row = session.scalar(select(FhirResource).where(FhirResource.resource_type == "Group",
                                                    FhirResource.fid == fid))
    if row is None:
        raise FhirError(404, f"Group/{fid[:64]} introuvable", f"Group/{fid[:64]} not found",
                        code="not-found")
    if row.deleted:
        raise FhirError(410, f"Group/{fid} a été supprimé", f"Group/{fid} was deleted",
                        code="deleted")
    return row


def _authorize(session: Session, p: Principal, level: str, group_fid: str | None) -> None:
    if level == "system":
        authorize(p, "fhir.export.system")
    elif level == "group":
        assert group_fid is not None
        _group_row(session, group_fid)
        Access(session, p).authorize_read("Group", None, group_fid)
    else:
        authorize(p, "fhir.directory.read")  # any signed-in user with a read token


def kick_off(session: Session, p: Principal, *, level: str, group_fid: str | None,
             items: Sequence[tuple[str, str]], prefer: str, request_url: str,
             settings: Settings | None = None) -> ExportJob:
    settings = settings or get_settings()
    req = parse_request(items, prefer)
    _authorize(session, p, level, group_fid)
    active = session.scalar(select(func.count()).select_from(ExportJob).where(
        ExportJob.user_id == p.user.id, ExportJob.status.in_(("queued", "running")))) or 0
    if active >= MAX_ACTIVE_JOBS:
        raise FhirError(429, f"déjà {active} exports en cours : attendez leur fin",
                        f"{active} exports already in progress", code="throttled")
    now = utcnow()
    job = ExportJob(
        id=secrets.token_hex(16), user_id=p.user.id,
        token_scopes=sorted(p.token_scopes) if p.token_scopes is not None else None,
        ip=p.ip[:64], level=level, group_fid=group_fid, types=list(req.types),
        since=req.since, request_url=request_url[:2000], status="queued", progress="queued",
        error="", output=[], created_at=now, transaction_time=None, finished_at=None,
        expires_at=now + timedelta(hours=settings.fhir_export_hours))
    session.add(job)
    session.flush()
    return job


def dispatch(job_id: str) -> None:
    """Hand a committed job to the background worker (tests replace this)."""
    from esante.worker import run_export_job

    run_export_job(job_id)


# --- the job's owner ----------------------------------------------------------------------

def owned_job(session: Session, p: Principal, job_id: str) -> ExportJob:
    """The caller's own, unexpired job; anything else is 404 (its existence included)."""
    job = session.get(ExportJob, job_id) if job_id.isalnum() and len(job_id) <= 32 else None
    if job is None or job.user_id != p.user.id or job.expires_at <= utcnow():
        raise FhirError(404, "export introuvable (ou expiré)", "export not found (or expired)",
                        code="not-found")
    return job


def manifest(job: ExportJob, base: str) -> dict[str, Any]:
    assert job.transaction_time is not None
    return {
        "transactionTime": fhir_instant(job.transaction_time),
        "request": job.request_url,
        "requiresAccessToken": True,
        "output": [{"type": f["type"], "url": f"{base}/$export-file/{job.id}/{f['name']}",
                    "count": f["count"]} for f in job.output],
        "error": [],
    }


def read_file(session: Session, p: Principal, job_id: str, name: str,
              settings: Settings | None = None) -> bytes:
    job = owned_job(session, p, job_id)
    entry = next((f for f in job.output if f["name"] == name), None) if job.status == "done" \
        else None
    if entry is None:
        raise FhirError(404, "fichier d'export introuvable", "export file not found",
                        code="not-found")
    data = BlobStore(Vault(session, settings)).get(entry["blob"])
    audit.record(session, actor=p.actor, action="fhir.export.download", object_type="ExportJob",
                 object_id=job.id, details={"file": name, "count": entry["count"]})
    return data


def cancel(session: Session, p: Principal, job_id: str, settings: Settings | None = None) -> None:
    job = owned_job(session, p, job_id)
    remove_job(session, job, settings)
    audit.record(session, actor=p.actor, action="fhir.export.cancel", object_type="ExportJob",
                 object_id=job_id)


def remove_job(session: Session, job: ExportJob, settings: Settings | None = None) -> None:
    root = (settings or get_settings()).resolved_blob_dir
    for f in job.output:
        drop_blob(session, root, f["blob"])
    session.delete(job)
    session.flush()


def drop_blob(session: Session, root: Path, blob_id: str) -> None:
    """Delete an export file and the data key that encrypted it (crypto-shredding: a copy
    left in a backup stays unreadable)."""
    if not blob_id.isalnum():
        return
    path = root / blob_id[:2] / blob_id
    try:
        with open(path, "rb") as fh:
            head = fh.read(18)
    except FileNotFoundError:
        return
    if len(head) == 18:
        kid = uuid.UUID(bytes=head[2:18]).hex
        session.execute(delete(DataKey).where(DataKey.id == kid,
                                              DataKey.purpose == BLOB_PURPOSE))
    path.unlink(missing_ok=True)


def purge_expired(session: Session, settings: Settings | None = None) -> int:
    """Remove expired jobs, their files and keys. Returns how many jobs went."""
    jobs = session.scalars(select(ExportJob).where(ExportJob.expires_at <= utcnow())).all()
    for job in jobs:
        remove_job(session, job, settings)
    return len(jobs)


def stale_queued(session: Session) -> list[str]:
    """Jobs still queued long after kick-off: their queue message was lost."""
    return list(session.scalars(select(ExportJob.id).where(
        ExportJob.status == "queued", ExportJob.created_at <= utcnow() - STALE_QUEUED)))


# --- reading the store --------------------------------------------------------------------

def pages(session: Session, rtype: str, *, since: datetime | None, until: datetime | None,
          condition: ColumnElement[bool] | None,
          page: int = PAGE) -> Iterator[list[tuple[int, str, str | None, bytes]]]:
    """Current, non-deleted resources of one type, page after page by primary key:
    (pk, fid, patient_fid, sealed content). Never more than ``page`` rows in memory."""
    last = 0
    while True:
        q = select(FhirResource.pk, FhirResource.fid, FhirResource.patient_fid,
                   FhirResource.content).where(
            FhirResource.resource_type == rtype, FhirResource.deleted.is_(False),
            FhirResource.pk > last)
        if since is not None:
            q = q.where(FhirResource.last_updated >= since)
        if until is not None:
            q = q.where(FhirResource.last_updated <= until)
        if condition is not None:
            q = q.where(condition)
        rows = [(r.pk, r.fid, r.patient_fid, r.content)
                for r in session.execute(q.order_by(FhirResource.pk).limit(page))]
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def count(session: Session, rtype: str, *, since: datetime | None, until: datetime | None,
          condition: ColumnElement[bool] | None) -> int:
    q = select(func.count()).select_from(FhirResource).where(
        FhirResource.resource_type == rtype, FhirResource.deleted.is_(False))
    if since is not None:
        q = q.where(FhirResource.last_updated >= since)
    if until is not None:
        q = q.where(FhirResource.last_updated <= until)
    if condition is not None:
        q = q.where(condition)
    return session.scalar(q) or 0


def _line(vault: Vault, rtype: str, fid: str, sealed: bytes) -> bytes:
    """One NDJSON line: the stored JSON, re-serialised compactly on one line."""
    resource = json.loads(vault.decrypt(sealed, context=f"{rtype}/{fid}"))
    return json.dumps(resource, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def audit_patients(session: Session, actor: Actor, per_patient: dict[str, dict[str, int]], *,
                   job_id: str, level: str) -> None:
    """One audit event per patient whose data left the store."""
    for patient, counts in sorted(per_patient.items()):
        audit.record(session, actor=actor, action="fhir.export", object_type="Patient",
                     object_id=f"Patient/{patient}", patient_ref=f"Patient/{patient}",
                     details={"job": job_id, "level": level, "counts": counts})


# --- the worker ---------------------------------------------------------------------------

class Cancelled(Exception):
    """The job was deleted (cancelled or purged) while it ran."""


@dataclass
class _Run:
    session: Session
    job_id: str
    blobs: BlobStore
    written: list[str] = field(default_factory=list)

    def checkpoint(self, **changes: Any) -> ExportJob:
        """Publish progress (and release SQLite's write lock between pages)."""
        job = self.session.get(ExportJob, self.job_id, populate_existing=True)
        if job is None:
            raise Cancelled
        for key, value in changes.items():
            setattr(job, key, value)
        try:
            self.session.commit()
        except StaleDataError:
            self.session.rollback()
            raise Cancelled from None
        return job


class _Files:
    """The NDJSON files of one type: lines gathered in memory up to ``FILE_MAX`` resources
    (or ``FILE_MAX_BYTES``), then encrypted into a blob."""

    def __init__(self, run: _Run, rtype: str, output: list[dict[str, Any]]) -> None:
        self.run, self.rtype, self.output = run, rtype, output
        self.lines: list[bytes] = []
        self.size = self.total = self.files = 0

    def add(self, line: bytes) -> None:
        self.lines.append(line)
        self.size += len(line)
        self.total += 1
        if len(self.lines) >= FILE_MAX or self.size >= FILE_MAX_BYTES:
            self.close()

    def close(self) -> None:
        if not self.lines:
            return
        self.files += 1
        blob = self.run.blobs.put(b"".join(self.lines), purpose=BLOB_PURPOSE)
        self.run.written.append(blob)
        self.output.append({"type": self.rtype, "name": f"{self.rtype}-{self.files}.ndjson",
                            "blob": blob, "count": len(self.lines)})
        self.lines, self.size = [], 0


def _condition(session: Session, job: ExportJob, p: Principal) -> ColumnElement[bool] | None:
    if job.level == "system":
        return None  # the fhir.export.system permission: the whole store
    reach = Access(session, p).search_filter()
    in_compartment = FhirResource.patient_fid.is_not(None)
    if job.level == "group":
        group = _group_row(session, job.group_fid or "")
        members = select(FhirRefIndex.target_fid).where(
            FhirRefIndex.res_pk == group.pk, FhirRefIndex.param == "member",
            FhirRefIndex.target_type == "Patient")
        return reach & in_compartment & FhirResource.patient_fid.in_(members)
    return reach & in_compartment


def run_export(session: Session, job_id: str, settings: Settings | None = None) -> str:
    """Run one queued job to its end (done or failed). Returns its final status, or
    ``skipped`` when it was not queued (another worker took it, or it is gone)."""
    settings = settings or get_settings()
    claimed = session.execute(update(ExportJob).where(
        ExportJob.id == job_id, ExportJob.status == "queued").values(
        status="running", progress="starting"))
    session.commit()
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return "skipped"
    vault = Vault(session, settings)
    run = _Run(session, job_id, BlobStore(vault))
    try:
        return _run(run, vault)
    except Cancelled:
        session.rollback()
        for blob in run.written:
            drop_blob(session, run.blobs.root, blob)
        session.commit()
        return "cancelled"
    except Exception as exc:
        session.rollback()
        log.exception("export %s failed", job_id)
        for blob in run.written:
            drop_blob(session, run.blobs.root, blob)
        job = session.get(ExportJob, job_id, populate_existing=True)
        if job is not None:
            job.status, job.output, job.finished_at = "failed", [], utcnow()
            job.error = (getattr(exc, "fr", "") or "erreur interne de l'export")[:500]
        session.commit()
        return "failed"


def _run(run: _Run, vault: Vault) -> str:
    session = run.session
    tx_time = utcnow()
    job = run.checkpoint(transaction_time=tx_time)
    user = session.get(User, job.user_id)
    assert user is not None
    p = Principal.of(user, token_scopes=job.token_scopes, ip=job.ip)
    _authorize(session, p, job.level, job.group_fid)  # rights may have changed since kick-off
    condition = _condition(session, job, p)
    since, level = job.since, job.level
    types = job.types or list(EXPORTABLE)
    output: list[dict[str, Any]] = []
    per_patient: dict[str, dict[str, int]] = {}

    for i, rtype in enumerate(types):
        files = _Files(run, rtype, output)
        for rows in pages(session, rtype, since=since, until=tx_time, condition=condition):
            for _pk, fid, patient, sealed in rows:
                files.add(_line(vault, rtype, fid, sealed))
                if patient:
                    counts = per_patient.setdefault(patient, {})
                    counts[rtype] = counts.get(rtype, 0) + 1
            run.checkpoint(progress=f"{rtype} ({i + 1}/{len(types)}): {files.total} "
                           "resources", output=list(output))
        files.close()
        run.checkpoint(progress=f"{i + 1}/{len(types)} types exported", output=list(output))

    job = run.checkpoint()
    audit_patients(session, p.actor, per_patient, job_id=job.id, level=level)
    run.checkpoint(status="done", progress="done", output=output, finished_at=utcnow())
    return "done"


# --- the operator's command -----------------------------------------------------------------

def export_to_dir(session: Session, out: Path, *, types: Sequence[str] = (),
                  since: datetime | None = None, settings: Settings | None = None,
                  on_type: Callable[[str, int], None] | None = None,
                  on_rows: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """The whole store as NDJSON files in ``out`` (``<Type>.ndjson``), for an operator on
    the server: no access filter, audited as a system export (one event per patient).
    Commits between pages (short transactions). Returns the count per type."""
    settings = settings or get_settings()
    vault = Vault(session, settings)
    out.mkdir(parents=True, exist_ok=True)
    os.chmod(out, 0o700)
    tx_time = utcnow()
    counts: dict[str, int] = {}
    per_patient: dict[str, dict[str, int]] = {}
    for rtype in types or EXPORTABLE:
        total = count(session, rtype, since=since, until=tx_time, condition=None)
        if on_type:
            on_type(rtype, total)
        if total == 0:
            continue
        path = out / f"{rtype}.ndjson"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        n = 0
        with os.fdopen(fd, "wb") as fh:
            for rows in pages(session, rtype, since=since, until=tx_time, condition=None):
                for _pk, fid, patient, sealed in rows:
                    fh.write(_line(vault, rtype, fid, sealed))
                    if patient:
                        c = per_patient.setdefault(patient, {})
                        c[rtype] = c.get(rtype, 0) + 1
                n += len(rows)
                session.commit()
                if on_rows:
                    on_rows(rtype, len(rows))
        counts[rtype] = n
    audit_patients(session, Actor.system("esante fhir export"), per_patient,
                   job_id=f"cli-{fhir_instant(tx_time)}", level="system")
    audit.record(session, actor=Actor.system("esante fhir export"), action="fhir.export.system",
                 object_type="ExportJob", object_id="cli",
                 details={"counts": counts, "since": fhir_instant(since) if since else None})
    session.commit()
    return counts
