"""Bulk loading of FHIR resources (``esante fhir load``): NDJSON files (one resource a
line, optionally gzipped) and JSON files (a collection/transaction/batch Bundle, whose
entries are loaded, or a single resource), from a file or a folder (recursively, sorted).

Every resource goes through ``validation.validate``, exactly as through the API. Ids are
kept (a new uuid otherwise) and a resource that already exists gets a new version
(upsert), so that loading the same files twice makes versions, never duplicates. Writes
go in batches, one transaction each (one data key, one audit event ``fhir.load``): a crash
loses the current batch at most. A batch is written with a handful of statements: one
SELECT for the ids already there, bulk INSERTs (executemany; ``COPY`` on PostgreSQL for
the version and index rows), never a statement per resource.

Parsing and validation (the costly part in Python) can run in worker processes
(``jobs``) while the main process writes: the pipeline is "read chunks of lines → prepare
(JSON, validation, index rows) → write batches".
"""

from __future__ import annotations

import gzip
import json
import multiprocessing
import queue
import threading
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from esante.core import audit
from esante.core.db import session_factory, utcnow
from esante.core.settings import Settings
from esante.fhir import validation
from esante.fhir.indexer import IndexRows, index_rows
from esante.fhir.models import (
    ConsentRule,
    FhirDateIndex,
    FhirRefIndex,
    FhirResource,
    FhirStringIndex,
    FhirTokenIndex,
    FhirVersion,
)
from esante.fhir.outcome import FhirError
from esante.fhir.store import ID_RE, Store, fhir_instant

BATCH = 1000
STATISTICS_TABLES = ("fhir_resources", "fhir_versions", "fhir_idx_token", "fhir_idx_string",
                     "fhir_idx_date", "fhir_idx_ref")
CHUNK = 250  # lines handed to a worker process at a time
BUNDLE_TYPES = ("collection", "transaction", "batch")
SUFFIXES = (".ndjson", ".ndjson.gz", ".json")


# --- reading ---------------------------------------------------------------------------------

@dataclass
class Raw:
    """One resource as read: the bytes of an NDJSON line, or a Bundle entry already parsed."""

    where: str
    data: bytes | dict[str, Any]
    size: int = 0  # bytes of the file consumed (progress)
    fid: str | None = None  # id given by a Bundle entry's request.url / fullUrl


def source_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(SUFFIXES))
    return [path]


def _lines(path: Path) -> Iterator[tuple[int, bytes, int]]:
    """(line number, line, bytes of the file consumed so far)."""
    with path.open("rb") as raw:
        stream: IO[bytes] = (gzip.GzipFile(fileobj=raw) if path.name.endswith(".gz")  # type: ignore[assignment]
                             else raw)
        for n, line in enumerate(stream, 1):
            yield n, line, raw.tell()


def _rewrite_refs(node: Any, refs: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {k: _rewrite_refs(v, refs) for k, v in node.items()}
        ref = out.get("reference")
        if isinstance(ref, str) and ref in refs:
            out["reference"] = refs[ref]
        return out
    if isinstance(node, list):
        return [_rewrite_refs(v, refs) for v in node]
    return node


def _bundle_entries(path: Path, bundle: dict[str, Any], size: int) -> Iterator[Raw]:
    """The resources of a Bundle, with their ids (or the id its PUT url gives); the
    ``urn:uuid:`` full URLs of a transaction become ids and the references to them
    ``Type/id``."""
    entries = bundle.get("entry") or []
    refs: dict[str, str] = {}
    ids: list[str | None] = []
    for entry in entries:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        fid = resource.get("id") if isinstance(resource, dict) else None
        request = (entry.get("request") or {}) if isinstance(entry, dict) else {}
        url = str(request.get("url", ""))
        if not fid and request.get("method") == "PUT" and url.count("/") == 1 and "?" not in url:
            fid = url.split("/")[1]
        full = str(entry.get("fullUrl", "")) if isinstance(entry, dict) else ""
        if not fid and full.startswith("urn:uuid:"):
            fid = full[len("urn:uuid:"):]
        if full and fid and isinstance(resource, dict):
            refs[full] = f"{resource.get('resourceType')}/{fid}"
        ids.append(fid if isinstance(fid, str) else None)
    for i, (entry, fid) in enumerate(zip(entries, ids, strict=True), 1):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        where = f"{path} (entrée {i})"
        if not isinstance(resource, dict):
            method = ((entry.get("request") or {}) if isinstance(entry, dict) else {}).get("method")
            yield Raw(where, {"__error__": f"entrée sans ressource (request.method {method})"},
                      size if i == len(entries) else 0)
            continue
        if refs:
            resource = _rewrite_refs(resource, refs)
        yield Raw(where, resource, size if i == len(entries) else 0, fid)


def read(paths: Iterable[Path]) -> Iterator[Raw]:
    for path in paths:
        if path.name.endswith((".ndjson", ".ndjson.gz")):
            last = 0
            for n, line, pos in _lines(path):
                if line.strip():
                    yield Raw(f"{path}:{n}", line, pos - last)
                    last = pos
            continue
        raw = path.read_bytes()
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            yield Raw(f"{path}:1", {"__error__": f"JSON invalide : {exc}"}, len(raw))
            continue
        if isinstance(data, dict) and data.get("resourceType") == "Bundle" and \
                data.get("type") in BUNDLE_TYPES:
            if not data.get("entry"):
                continue
            yield from _bundle_entries(path, data, len(raw))
        else:
            yield Raw(f"{path}:1", data, len(raw))


# --- preparing (pure: runs in worker processes) ----------------------------------------------

@dataclass
class Prepared:
    where: str
    rtype: str
    fid: str
    given_id: bool
    resource: dict[str, Any]
    rows: IndexRows
    size: int = 0


@dataclass
class Rejected:
    where: str
    rtype: str
    message: str
    size: int = 0


@dataclass
class Checked:
    """A resource that passed validation, with its index rows (what a worker process sends
    back: small beside the resource, and the rows cost more to compute than to pickle)."""

    rtype: str
    fid: str | None
    rows: IndexRows


def check(raw: Raw) -> Checked | Rejected:
    """Parse and validate, exactly as the API does (``validation.validate``)."""
    data: Any = raw.data
    rtype = "?"
    try:
        if isinstance(data, bytes):
            data = validation.parse_json(data)
        elif "__error__" in data:
            return Rejected(raw.where, rtype, data["__error__"], raw.size)
        if isinstance(data, dict) and isinstance(data.get("resourceType"), str):
            rtype = data["resourceType"][:40]
        resource = validation.validate(data)
        fid = resource.get("id") or raw.fid
        if fid is not None and (not isinstance(fid, str) or not ID_RE.match(fid)):
            return Rejected(raw.where, rtype, f"identifiant FHIR invalide : « {str(fid)[:70]} » "
                            "(1 à 64 caractères A-Z a-z 0-9 - .)", raw.size)
        return Checked(rtype, fid, index_rows(resource))
    except FhirError as exc:
        return Rejected(raw.where, rtype, exc.fr, raw.size)


def check_chunk(chunk: list[Raw]) -> list[Checked | Rejected]:
    return [check(r) for r in chunk]


def complete(raw: Raw, checked: Checked, resource: dict[str, Any] | None = None) -> Prepared:
    """A checked resource, ready to write: its content and id."""
    if resource is None:
        resource = json.loads(raw.data) if isinstance(raw.data, bytes) else raw.data
    assert resource is not None
    fid = checked.fid
    return Prepared(raw.where, checked.rtype, fid or str(uuid.uuid4()), fid is not None,
                    resource, checked.rows, raw.size)


def prepare(raw: Raw) -> Prepared | Rejected:
    """Check then complete, in this process."""
    result = check(raw)
    return result if isinstance(result, Rejected) else complete(raw, result)


def prepare_chunk(chunk: list[Raw]) -> list[Prepared | Rejected]:
    return [prepare(r) for r in chunk]


def _prepared_in_workers(pool: Any, chunks: Iterator[list[Raw]]
                         ) -> Iterator[list[Prepared | Rejected]]:
    """Validation and indexing in the worker processes (they send back verdicts and index
    rows, not resources: pickling whole resources would cost as much as parsing them again
    here)."""
    sent: deque[list[Raw]] = deque()

    def feed() -> Iterator[list[Raw]]:
        for chunk in chunks:
            sent.append(chunk)
            yield chunk

    for verdicts in pool.imap(check_chunk, feed()):
        chunk = sent.popleft()
        yield [v if isinstance(v, Rejected) else complete(r, v)
               for r, v in zip(chunk, verdicts, strict=True)]


def _chunks(raws: Iterator[Raw], size: int) -> Iterator[list[Raw]]:
    chunk: list[Raw] = []
    for r in raws:
        chunk.append(r)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# --- writing ---------------------------------------------------------------------------------

INDEX_TABLES: tuple[tuple[Any, str, tuple[str, ...]], ...] = (
    (FhirTokenIndex, "tokens", ("param", "system", "code")),
    (FhirStringIndex, "strings", ("param", "norm", "exact")),
    (FhirDateIndex, "dates", ("param", "low", "high")),
    (FhirRefIndex, "refs", ("param", "target_type", "target_fid")),
)


def _copy(session: Session, table: Any, columns: tuple[str, ...],
          rows: list[tuple[Any, ...]]) -> None:
    """PostgreSQL COPY of rows (tuples in ``columns`` order) into ``table``."""
    dbapi = session.connection().connection.dbapi_connection
    assert dbapi is not None
    cols = ", ".join(columns)
    with dbapi.cursor() as cur, cur.copy(  # type: ignore[attr-defined]
            f"COPY {table.__tablename__} ({cols}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _executemany(session: Session, table: Any, columns: tuple[str, ...],
                 rows: list[tuple[Any, ...]]) -> None:
    """SQLite: one prepared INSERT, executemany on the driver's cursor, values converted by
    the columns' own bind processors (dates stored as SQLAlchemy stores them)."""
    conn = session.connection()
    t = table.__table__
    procs = [t.c[c].type._cached_bind_processor(conn.dialect) for c in columns]
    if any(procs):
        rows = [tuple(v if p is None else p(v) for p, v in zip(procs, r, strict=True))
                for r in rows]
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    cur = dbapi.cursor()
    try:
        cur.executemany(f"INSERT INTO {t.name} ({', '.join(columns)}) VALUES "  # noqa: S608
                        f"({', '.join('?' * len(columns))})", rows)
    finally:
        cur.close()


def _bulk(session: Session, table: Any, columns: tuple[str, ...],
          rows: list[tuple[Any, ...]], pg: bool) -> None:
    if not rows:
        return
    if pg:
        _copy(session, table, columns, rows)
    else:
        _executemany(session, table, columns, rows)


def _new_pks(session: Session, n: int, pg: bool) -> list[int]:
    """Primary keys for ``n`` new resources: from the sequence (PostgreSQL), or after the
    largest one (SQLite: the transaction holds the write lock, BEGIN IMMEDIATE)."""
    if pg:
        return list(session.scalars(text(
            "SELECT nextval(pg_get_serial_sequence('fhir_resources', 'pk')) "
            "FROM generate_series(1, :n)"), {"n": n}))
    top = session.scalar(select(func.max(FhirResource.pk))) or 0
    return list(range(top + 1, top + 1 + n))


def write_batch(session: Session, batch: list[Prepared], *,
                settings: Settings | None = None) -> None:
    """Upsert a batch of prepared resources (distinct (type, id) pairs) in the session's
    transaction: the same rows ``Store._write`` makes, in a few bulk statements."""
    store = Store(session, settings)
    pg = session.get_bind().dialect.name == "postgresql"
    now = utcnow()
    existing: dict[tuple[str, str], tuple[int, int]] = {}
    by_type: dict[str, list[str]] = {}
    for p in batch:
        if p.given_id:
            by_type.setdefault(p.rtype, []).append(p.fid)
    for rtype, fids in by_type.items():
        for pk, fid, version in session.execute(
                select(FhirResource.pk, FhirResource.fid, FhirResource.version).where(
                    FhirResource.resource_type == rtype, FhirResource.fid.in_(fids))):
            existing[(rtype, fid)] = (pk, version)

    news: list[tuple[Any, ...]] = []
    new_items: list[Prepared] = []
    updates: list[dict[str, Any]] = []
    update_pks: list[int] = []
    versions: list[tuple[Any, ...]] = []
    finals: list[dict[str, Any]] = []
    stamp = fhir_instant(now)
    for p in batch:
        pk, version = existing.get((p.rtype, p.fid), (0, 0))
        version += 1
        meta = dict(p.resource.get("meta") or {})
        meta.update(versionId=str(version), lastUpdated=stamp)
        resource = {"resourceType": p.rtype, **{k: v for k, v in p.resource.items()
                                                if k != "resourceType"}, "id": p.fid, "meta": meta}
        finals.append(resource)
        patient = store._compartment(resource)
        sealed = store._seal(resource, p.rtype, p.fid)
        values = {"version": version, "last_updated": now, "deleted": False,
                  "patient_fid": patient, "content": sealed}
        if pk:
            updates.append({"pk": pk, **values})
            update_pks.append(pk)
        else:
            news.append((p.rtype, p.fid, version, now, False, patient, sealed))
            new_items.append(p)
        versions.append((p.rtype, p.fid, version, now, "PUT" if p.given_id else "POST", False,
                         sealed))

    pks: dict[tuple[str, str], int] = {(rt, fid): pk for (rt, fid), (pk, _) in existing.items()}
    if news:
        new_pks = _new_pks(session, len(news), pg)
        for p, pk in zip(new_items, new_pks, strict=True):
            pks[(p.rtype, p.fid)] = pk
        _bulk(session, FhirResource, ("pk", "resource_type", "fid", "version", "last_updated",
                                      "deleted", "patient_fid", "content"),
              [(pk, *row) for pk, row in zip(new_pks, news, strict=True)], pg)
    if updates:
        session.execute(update(FhirResource), updates)
        for table in (FhirTokenIndex, FhirStringIndex, FhirDateIndex, FhirRefIndex):
            session.execute(delete(table).where(table.res_pk.in_(update_pks)))
        session.execute(delete(ConsentRule).where(ConsentRule.consent_pk.in_(update_pks)))
    _bulk(session, FhirVersion, ("resource_type", "fid", "version", "last_updated", "method",
                                 "deleted", "content"), versions, pg)
    for table, attr, cols in INDEX_TABLES:
        rows = [(pks[(p.rtype, p.fid)], p.rtype, *r) for p in batch for r in getattr(p.rows, attr)]
        _bulk(session, table, ("res_pk", "resource_type", *cols), rows, pg)
    consents = [(p, r) for p, r in zip(batch, finals, strict=True) if p.rtype == "Consent"]
    if consents:
        from esante.fhir.consent import consent_rules

        for p, resource in consents:
            rules = consent_rules(resource, store._resolve)
            if rules:
                session.execute(insert(ConsentRule), [
                    {"consent_pk": pks[(p.rtype, p.fid)], **r} for r in rules])
    session.flush()


# --- the whole load --------------------------------------------------------------------------

@dataclass
class Report:
    loaded: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    batches: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)  # first ones only
    seconds: float = 0.0
    stopped: bool = False  # --strict stopped at an error

    @property
    def total_loaded(self) -> int:
        return sum(self.loaded.values())

    @property
    def total_rejected(self) -> int:
        return sum(self.rejected.values())


class Strict(Exception):
    """``--strict``: the first rejected resource stops the load."""

    def __init__(self, rejected: Rejected) -> None:
        super().__init__(rejected.message)
        self.rejected = rejected


OnError = Callable[[Rejected], None]
OnProgress = Callable[[int, int], None]  # (resources read, bytes consumed)


def load(paths: list[Path], *, engine: Engine | None = None, batch_size: int = BATCH,
         strict: bool = False, jobs: int = 1, actor: audit.Actor | None = None,
         on_error: OnError | None = None, on_progress: OnProgress | None = None,
         settings: Settings | None = None) -> Report:
    """Load the files; raises ``Strict`` (after committing the previous batches) when
    ``strict`` and a resource is rejected."""
    from time import perf_counter

    started = perf_counter()
    actor = actor or audit.Actor.system("esante fhir load")
    factory = session_factory(engine)
    report = Report()
    batch: list[Prepared] = []
    keys: set[tuple[str, str]] = set()
    rejected_in_batch: Counter[str] = Counter()
    sources: list[str] = []
    seen = 0
    consumed = 0

    # Batches are written by a thread of their own while this one prepares the next: the
    # database works (and the driver waits, without the GIL) while Python validates.
    jobs_q: queue.Queue[tuple[list[Prepared], Counter[str], str] | None] = queue.Queue(2)
    failures: list[BaseException] = []

    # PostgreSQL plans the batch's "which of these ids exist" query from the table's
    # statistics: a table that grew from empty since they were taken (autovacuum late, or
    # off) gets a sequential scan per batch, and the load slows as the table grows. They
    # are refreshed when the loaded count passes 2,000, 8,000, 32,000… and at the end.
    with factory() as probe:
        pg = probe.get_bind().dialect.name == "postgresql"
    next_analyze = 2 * batch_size

    def analyze(tables: tuple[str, ...]) -> None:
        with factory() as session, session.begin():
            for table in tables:
                session.execute(text(f"ANALYZE {table}"))

    def commit(batch: list[Prepared], rejected: Counter[str], first: str) -> None:
        nonlocal next_analyze
        loaded = Counter(p.rtype for p in batch)
        with factory() as session, session.begin():
            if batch:
                write_batch(session, batch, settings=settings)
            audit.record(session, actor=actor, action="fhir.load", object_type="Bundle",
                         object_id=f"load:{first}"[:120],
                         details={"loaded": dict(loaded), "rejected": dict(rejected),
                                  "first": batch[0].where if batch else first,
                                  "last": batch[-1].where if batch else first})
        report.loaded.update(loaded)
        report.batches += 1
        if pg and report.total_loaded >= next_analyze:
            analyze(("fhir_resources",))
            next_analyze *= 4

    def writer() -> None:
        while (job := jobs_q.get()) is not None:
            if not failures:
                try:
                    commit(*job)
                except BaseException as exc:
                    failures.append(exc)

    thread = threading.Thread(target=writer, name="fhir-load-writer", daemon=True)
    thread.start()

    def flush() -> None:
        nonlocal batch, keys, rejected_in_batch, sources
        if failures:
            raise failures[0]
        if not batch and not rejected_in_batch:
            return
        jobs_q.put((batch, rejected_in_batch, batch[0].where if batch else sources[0]))
        batch, keys, rejected_in_batch, sources = [], set(), Counter(), []

    raws = read(paths)
    chunks = _chunks(raws, CHUNK)
    pool = multiprocessing.get_context("fork").Pool(jobs) if jobs > 1 else None
    try:
        prepared: Iterator[list[Prepared | Rejected]] = (
            _prepared_in_workers(pool, chunks) if pool else map(prepare_chunk, chunks))
        for results in prepared:
            for item in results:
                seen += 1
                consumed += item.size
                if isinstance(item, Rejected):
                    if strict:
                        report.rejected[item.rtype] += 1
                        report.errors.append((item.where, item.message))
                        report.stopped = True
                        raise Strict(item)
                    report.rejected[item.rtype] += 1
                    rejected_in_batch[item.rtype] += 1
                    sources.append(item.where)
                    if len(report.errors) < 1000:
                        report.errors.append((item.where, item.message))
                    if on_error:
                        on_error(item)
                    continue
                key = (item.rtype, item.fid)
                if key in keys:  # the same resource twice in a batch: versions in order
                    flush()
                keys.add(key)
                batch.append(item)
                if len(batch) >= batch_size:
                    flush()
            if on_progress:
                on_progress(seen, consumed)
        flush()
    finally:
        if pool:
            pool.terminate()
        jobs_q.put(None)
        thread.join()
        report.seconds = perf_counter() - started
    if failures:
        raise failures[0]
    if pg and report.total_loaded:  # searches right after the load are planned on the data
        analyze(STATISTICS_TABLES)
    return report
