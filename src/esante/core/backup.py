"""Backups: one ``.tar.gz`` file with the database rows, the encrypted files and a manifest.

What is in it:

* ``db/<table>.jsonl``: every row of every table, one JSON object a line, values encoded
  by column type (dates in ISO 8601, bytes in base64, decimals as text), so a backup
  taken on SQLite restores into PostgreSQL and the other way round;
* ``blobs/...``: the encrypted files of :class:`esante.core.crypto.BlobStore`, as they
  are on disk (still encrypted);
* ``manifest.json``, the last member: format version, date, Alembic revision, row count
  of each table and the SHA-256 of every other member. An archive without it is an
  incomplete one.

What is never in it: the master keys (key ring file or ``ESANTE_MASTER_KEY``). The data
keys are, but wrapped by a master key, so the archive alone decrypts nothing: the key ring
must be saved apart, offline.

The rows are read in one transaction (REPEATABLE READ on PostgreSQL, a read snapshot on
SQLite in WAL mode) and streamed table by table. Encrypted files are copied after the
snapshot: they are written (and synced) before the transaction that references them
commits and are never rewritten, so every file the snapshot references is there; files
added meanwhile are carried as unreferenced extras.

A restore checks every checksum before touching anything, then replaces all the rows in
one transaction and swaps the file folder at the end of it (new files written apart
first), so a failure leaves the previous data and files in place.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import io
import json
import os
import re
import secrets
import shutil
import tarfile
import tempfile
import uuid
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Engine,
    Integer,
    Interval,
    LargeBinary,
    MetaData,
    Numeric,
    Table,
    Time,
    Uuid,
    column,
    create_engine,
    event,
    func,
    select,
    table,
    text,
)
from sqlalchemy import Enum as SAEnum
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool
from sqlalchemy.types import Float, TypeDecorator, TypeEngine

from esante import __version__
from esante.core import migrate
from esante.core.audit import Actor, record
from esante.core.db import get_engine, make_engine, transaction
from esante.core.errors import Conflict, Invalid
from esante.core.models import Base
from esante.core.settings import Settings, get_settings

FORMAT = "esante-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
BATCH = 1000
CHUNK = 1 << 20
SKIP_TABLES = frozenset({"alembic_version"})

#: ``progress(label, done, total)``: called as work advances (total may be None).
ProgressCallback = Callable[[str, int, int | None], None]

_TABLE_RE = re.compile(r"^[A-Za-z0-9_]{1,128}$")
_PART_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}$")


# --- reports ---------------------------------------------------------------------------


def _size_fr(n: int) -> str:
    value = float(n)
    for unit in ("o", "Ko", "Mo", "Go"):
        if value < 1024 or unit == "Go":
            return f"{value:.0f} {unit}" if unit == "o" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} o"  # pragma: no cover


class _TableCounts:
    table_rows: dict[str, int]

    @property
    def tables(self) -> int:
        return len(self.table_rows)

    @property
    def rows(self) -> int:
        return sum(self.table_rows.values())


@dataclass
class BackupReport(_TableCounts):
    path: Path
    created_at: datetime
    revision: str | None
    table_rows: dict[str, int]
    files: int
    file_bytes: int
    size: int

    def summary_fr(self) -> str:
        return (
            f"sauvegarde écrite : {self.path} ({_size_fr(self.size)}) — {self.tables} "
            f"table(s), {self.rows} ligne(s), {self.files} fichier(s) chiffré(s) ; "
            f"révision {self.revision or '(aucune)'}. Les clés maîtres n'y sont pas : "
            "sauvegardez le trousseau à part, hors ligne."
        )


@dataclass
class RestoreReport(_TableCounts):
    path: Path
    backup_created_at: str
    revision: str | None
    table_rows: dict[str, int]
    files: int
    upgraded_to: str | None = None
    warnings: list[str] = field(default_factory=list)

    def summary_fr(self) -> str:
        text_ = (
            f"sauvegarde du {self.backup_created_at} restaurée : {self.tables} table(s), "
            f"{self.rows} ligne(s), {self.files} fichier(s) chiffré(s)"
        )
        if self.upgraded_to:
            text_ += f" ; base mise à jour de {self.revision} vers {self.upgraded_to}"
        return text_ + "."


# --- value encoding ----------------------------------------------------------------------


def _base_type(type_: TypeEngine[Any]) -> TypeEngine[Any]:
    while isinstance(type_, TypeDecorator):
        type_ = type_.impl_instance
    return type_


def _kind(type_: TypeEngine[Any]) -> str:
    t = _base_type(type_)
    if isinstance(t, JSON):
        return "json"
    if isinstance(t, DateTime):
        return "datetime"
    if isinstance(t, Date):
        return "date"
    if isinstance(t, Time):
        return "time"
    if isinstance(t, Interval):
        return "interval"
    if isinstance(t, LargeBinary):
        return "bytes"
    if isinstance(t, Uuid):
        return "uuid"
    if isinstance(t, Numeric) and not isinstance(t, Float):
        return "decimal"
    return "plain"


def _encoder(type_: TypeEngine[Any]) -> tuple[str, Callable[[Any], Any]]:
    kind = _kind(type_)
    base = _base_type(type_)
    enum_db: dict[Any, str] = {}
    if isinstance(base, SAEnum) and base.enum_class is not None:
        enum_db = dict(zip(list(base.enum_class), base.enums, strict=False))

    def encode(value: Any) -> Any:
        if value is None:
            return None
        if kind in ("datetime", "date", "time"):
            return value.isoformat()
        if kind == "interval":
            return value.total_seconds()
        if kind == "bytes":
            return base64.b64encode(bytes(value)).decode("ascii")
        if kind in ("uuid", "decimal"):
            return str(value)
        if isinstance(value, enum.Enum):
            return enum_db.get(value, value.name)
        if isinstance(value, memoryview | bytes):
            return base64.b64encode(bytes(value)).decode("ascii")
        return value

    return kind, encode


def _decoder(kind: str, target: TypeEngine[Any]) -> Callable[[Any], Any]:
    aware = bool(getattr(_base_type(target), "timezone", False))

    def decode(value: Any) -> Any:
        if value is None:
            return None
        if kind == "datetime":
            dt = datetime.fromisoformat(value)
            if aware and dt.tzinfo is None:
                dt = dt.replace(tzinfo=UTC)  # esante stores UTC; SQLite drops the zone
            return dt
        if kind == "date":
            return date.fromisoformat(value)
        if kind == "time":
            return dtime.fromisoformat(value)
        if kind == "interval":
            return timedelta(seconds=value)
        if kind == "bytes":
            return base64.b64decode(value)
        if kind == "decimal":
            return Decimal(value)
        if kind == "uuid":
            return uuid.UUID(value)
        return value

    return decode


# --- helpers -----------------------------------------------------------------------------


def _resolve(settings: Settings | None, engine: Engine | None) -> tuple[Settings, Engine, bool]:
    """The settings and engine to work with; ``True`` when the engine is ours to dispose."""
    if engine is not None:
        return settings or get_settings(), engine, False
    if settings is None:
        return get_settings(), get_engine(), False
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings, make_engine(settings.resolved_database_url), True


def _data_tables(meta: MetaData) -> list[Table]:
    return [t for t in meta.sorted_tables if t.name not in SKIP_TABLES]


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection inside one read-only transaction that sees a consistent snapshot."""
    if engine.dialect.name == "sqlite":
        # The app's engine opens every transaction with BEGIN IMMEDIATE (a write lock);
        # a reader does not need it: in WAL mode a deferred BEGIN reads a stable snapshot
        # from its first read while writers go on.
        snap = create_engine(engine.url, poolclass=NullPool,
                             connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(snap, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA query_only=ON")
            cur.close()

        @event.listens_for(snap, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN")

        try:
            with snap.connect() as conn, conn.begin():
                yield conn
        finally:
            snap.dispose()
        return
    with engine.connect() as conn:
        options: dict[str, Any] = {"isolation_level": "REPEATABLE READ"}
        if engine.dialect.name == "postgresql":
            options["postgresql_readonly"] = True
        conn.execution_options(**options)
        with conn.begin():
            yield conn


class _HashingReader:
    """Reads a file for ``tarfile.addfile`` while hashing what was read."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.sha = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.sha.update(data)
        self.size += len(data)
        return data


class _CountingReader:
    """Counts the bytes read from the archive file (restore progress)."""

    def __init__(self, raw: IO[bytes], on_read: Callable[[int], None]) -> None:
        self.raw = raw
        self.done = 0
        self.on_read = on_read

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.done += len(data)
        self.on_read(self.done)
        return data


def _tarinfo(name: str, size: int, mtime: float) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = int(mtime)
    info.mode = 0o600
    return info


def _blob_files(settings: Settings) -> list[Path]:
    root = settings.resolved_blob_dir
    if not root.is_dir():
        return []
    keyring = settings.resolved_keyring_path.resolve()
    never = {keyring, keyring.with_suffix(".tmp")}
    out = []
    for path in sorted(root.rglob("*")):
        if path.is_symlink() or not path.is_file() or path.suffix == ".tmp":
            continue
        if any(part.startswith(".") for part in path.relative_to(root).parts):
            continue  # restore leftovers, editor files: never blobs
        if path.resolve() in never or (path.name.startswith("keyring")
                                       and path.suffix == ".json"):
            continue  # a key ring left under the blob folder is still never backed up
        out.append(path)
    return out


def _noop(_label: str, _done: int, _total: int | None) -> None:
    return None


# --- create ------------------------------------------------------------------------------


def create_backup(
    path: Path | str,
    *,
    settings: Settings | None = None,
    engine: Engine | None = None,
    progress: ProgressCallback | None = None,
    actor: Actor | None = None,
) -> BackupReport:
    """Write a backup of the database and the encrypted files to ``path`` (.tar.gz).

    The archive is written beside ``path`` under a temporary name and renamed at the
    end, so ``path`` is either the complete backup or untouched."""
    settings, engine, owned = _resolve(settings, engine)
    progress = progress or _noop
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    created_at = datetime.now(UTC)
    files: dict[str, dict[str, Any]] = {}
    tables: dict[str, dict[str, Any]] = {}
    blob_count = 0
    blob_bytes = 0
    try:
        with tarfile.open(part, "w:gz", compresslevel=6) as tar:
            with _snapshot(engine) as conn:
                revision = MigrationContext.configure(conn).get_current_revision()
                meta = MetaData()
                meta.reflect(bind=conn)
                data_tables = _data_tables(meta)
                counts = {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                          for t in data_tables}
                total_rows = sum(counts.values())
                done_rows = 0
                progress("Lignes de la base", 0, total_rows)
                for tbl in data_tables:
                    member = f"db/{tbl.name}.jsonl"

                    def on_rows(n: int, base: int = done_rows) -> None:
                        progress("Lignes de la base", base + n, total_rows)

                    kinds, rows, sha, size, tmp = _dump_table(conn, tbl, on_rows)
                    with tmp:
                        tar.addfile(_tarinfo(member, size, created_at.timestamp()), tmp)
                    done_rows += rows
                    files[member] = {"sha256": sha, "size": size}
                    tables[tbl.name] = {"member": member, "rows": rows, "columns": kinds}
                progress("Lignes de la base", total_rows, total_rows)

            root = settings.resolved_blob_dir
            blobs = _blob_files(settings)
            progress("Fichiers chiffrés", 0, len(blobs))
            for i, blob in enumerate(blobs, 1):
                member = "blobs/" + blob.relative_to(root).as_posix()
                try:
                    fh = open(blob, "rb")  # noqa: SIM115 - closed below
                except FileNotFoundError:
                    continue  # removed since listed: not referenced by the snapshot
                with fh:
                    st = os.fstat(fh.fileno())
                    reader = _HashingReader(fh)
                    tar.addfile(_tarinfo(member, st.st_size, st.st_mtime), reader)
                files[member] = {"sha256": reader.sha.hexdigest(), "size": reader.size}
                blob_count += 1
                blob_bytes += reader.size
                progress("Fichiers chiffrés", i, len(blobs))

            manifest = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "created_at": created_at.isoformat(),
                "esante_version": __version__,
                "alembic_revision": revision,
                "source_dialect": engine.dialect.name,
                "master_keys_included": False,
                "table_order": list(tables),
                "tables": tables,
                "blobs": {"count": blob_count, "bytes": blob_bytes},
                "files": files,
            }
            body = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode()
            tar.addfile(_tarinfo(MANIFEST, len(body), created_at.timestamp()),
                        io.BytesIO(body))
        with open(part, "rb+") as done:
            os.fsync(done.fileno())
        os.replace(part, path)
    except BaseException:
        with suppress(FileNotFoundError):
            part.unlink()
        if owned:
            engine.dispose()
        raise
    report = BackupReport(path=path, created_at=created_at, revision=revision,
                          table_rows={k: v["rows"] for k, v in tables.items()},
                          files=blob_count, file_bytes=blob_bytes, size=path.stat().st_size)
    try:
        with transaction(engine) as session:
            record(session, actor=actor or Actor.system("sauvegarde"), action="backup.create",
                   object_type="backup", object_id=path.name,
                   details={"rows": report.rows, "files": report.files,
                            "revision": revision})
    finally:
        if owned:
            engine.dispose()
    return report


def _dump_table(
    conn: Connection, tbl: Table, on_rows: Callable[[int], None]
) -> tuple[dict[str, str], int, str, int, IO[bytes]]:
    """Stream one table into a temporary JSON-lines file, ordered by primary key."""
    code = Base.metadata.tables.get(tbl.name)
    cols = []
    encoders = []
    kinds: dict[str, str] = {}
    for col in tbl.columns:
        # The model's type when the code knows the column (aware UTC datetimes, JSON),
        # the reflected one otherwise (a database older than the code).
        type_ = code.c[col.name].type if code is not None and col.name in code.c else col.type
        cols.append(column(col.name, type_))
        kind, enc = _encoder(type_)
        kinds[col.name] = kind
        encoders.append((col.name, enc))
    clause = table(tbl.name, *cols)
    order = [clause.c[c.name] for c in tbl.primary_key.columns] or list(clause.c)
    stmt = select(*clause.c).order_by(*order)
    tmp: IO[bytes] = tempfile.TemporaryFile(prefix="esante-backup-")  # noqa: SIM115
    sha = hashlib.sha256()
    size = 0
    rows = 0
    result = conn.execution_options(yield_per=BATCH).execute(stmt)
    for part in result.partitions():
        chunk = bytearray()
        for row in part:
            obj = {name: enc(value) for (name, enc), value in zip(encoders, row, strict=True)}
            chunk += json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()
            chunk += b"\n"
        tmp.write(chunk)
        sha.update(chunk)
        size += len(chunk)
        rows += len(part)
        on_rows(rows)
    tmp.flush()
    tmp.seek(0)
    return kinds, rows, sha.hexdigest(), size, tmp


# --- restore -----------------------------------------------------------------------------


def _member_dest(name: str, staging: Path) -> Path:
    """Where a member goes in the staging folder; refuses any unexpected name."""
    if name == MANIFEST:
        return staging / MANIFEST
    parts = name.split("/")
    if len(parts) == 2 and parts[0] == "db" and parts[1].endswith(".jsonl") \
            and _TABLE_RE.match(parts[1][:-6]):
        return staging / "db" / parts[1]
    if len(parts) >= 2 and parts[0] == "blobs" and all(
            _PART_RE.match(p) and p not in (".", "..") for p in parts[1:]):
        return staging.joinpath(*parts)
    raise Invalid(f"sauvegarde refusée : élément inattendu « {name} » : rien n'a été modifié",
                  f"backup refused: unexpected member {name!r}")


def _unpack(path: Path, staging: Path, progress: ProgressCallback) -> dict[str, Any]:
    """Extract the archive into ``staging``, then check it against its manifest."""
    total = path.stat().st_size
    seen: dict[str, tuple[str, int]] = {}
    unreadable = Invalid(
        "sauvegarde illisible ou tronquée : rien n'a été modifié",
        "unreadable or truncated backup: nothing was changed")
    try:
        with open(path, "rb") as raw:
            counter = _CountingReader(raw, lambda n: progress("Vérification", n, total))
            with tarfile.open(fileobj=counter, mode="r|*") as tar:  # type: ignore[call-overload]
                for member in tar:
                    if member.name in seen:
                        raise Invalid(f"sauvegarde refusée : « {member.name} » en double",
                                      f"backup refused: duplicate member {member.name!r}")
                    if not member.isreg():
                        raise Invalid(f"sauvegarde refusée : « {member.name} » n'est pas un "
                                      "fichier", f"backup refused: {member.name!r} not a file")
                    dest = _member_dest(member.name, staging)
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    src = tar.extractfile(member)
                    if src is None:  # pragma: no cover - regular files always have data
                        raise unreadable
                    sha = hashlib.sha256()
                    size = 0
                    with open(dest, "wb") as out:
                        while data := src.read(CHUNK):
                            sha.update(data)
                            size += len(data)
                            out.write(data)
                    seen[member.name] = (sha.hexdigest(), size)
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        raise unreadable from exc
    except OSError as exc:  # gzip.BadGzipFile, bad CRC, short read
        raise unreadable from exc

    if MANIFEST not in seen:
        raise Invalid("sauvegarde incomplète (manifeste absent) : rien n'a été modifié",
                      "incomplete backup (no manifest): nothing was changed")
    try:
        manifest = json.loads((staging / MANIFEST).read_text(encoding="utf-8"))
    except ValueError as exc:
        raise Invalid("manifeste de sauvegarde illisible", "unreadable manifest") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise Invalid("ce fichier n'est pas une sauvegarde esante", "not an esante backup")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise Invalid(
            f"format de sauvegarde {manifest.get('format_version')} non pris en charge "
            f"(attendu : {FORMAT_VERSION})", "unsupported backup format version")
    expected: dict[str, dict[str, Any]] = manifest.get("files") or {}
    present = set(seen) - {MANIFEST}
    if present != set(expected):
        missing = sorted(set(expected) - present)
        extra = sorted(present - set(expected))
        raise Invalid(
            f"sauvegarde incohérente : {len(missing)} élément(s) manquant(s), {len(extra)} "
            f"élément(s) en trop (ex. {(missing or extra)[0]}) : rien n'a été modifié",
            "backup does not match its manifest: nothing was changed")
    for name in sorted(expected):
        digest, size = seen[name]
        if digest != expected[name].get("sha256") or size != expected[name].get("size"):
            raise Invalid(
                f"sauvegarde corrompue : empreinte SHA-256 différente pour « {name} » : "
                "rien n'a été modifié",
                f"corrupt backup: SHA-256 mismatch for {name!r}: nothing was changed")
    for name, info in (manifest.get("tables") or {}).items():
        if not _TABLE_RE.match(name) or info.get("member") not in expected:
            raise Invalid(f"manifeste incohérent pour la table « {name} »",
                          f"inconsistent manifest for table {name!r}")
    return manifest


def _check_revision(engine: Engine, revision: str | None) -> None:
    """Bring an empty database to the backup's revision; refuse any other mismatch."""
    if revision is not None:
        try:
            known = ScriptDirectory.from_config(migrate.alembic_config()).get_revision(revision)
        except Exception:  # alembic raises several kinds
            known = None
        if known is None:
            raise Invalid(
                f"la sauvegarde est à la révision {revision}, inconnue de cette version "
                "d'esante (plus récente ?) : restaurer avec la version qui l'a produite",
                f"backup revision {revision} unknown to this esante version")
    current = migrate.current_revision(engine)
    if current == revision:
        return
    if current is None:
        if revision is not None:
            migrate.upgrade(engine, revision)
        return
    raise Invalid(
        f"la base est à la révision {current} et la sauvegarde à {revision} : restaurer "
        "dans une base vide (le schéma y est créé à la révision de la sauvegarde puis mis "
        "à jour)", f"database at revision {current}, backup at {revision}")


def _has_data(conn: Connection, tables: list[Table], blob_dir: Path) -> bool:
    for tbl in tables:
        if conn.execute(select(text("1")).select_from(tbl).limit(1)).first() is not None:
            return True
    return blob_dir.is_dir() and any(
        p.is_file() and not any(x.startswith(".") for x in p.relative_to(blob_dir).parts)
        for p in blob_dir.rglob("*"))


def _read_rows(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def _reset_sequences(conn: Connection, tables: list[Table]) -> None:
    quote = conn.dialect.identifier_preparer.quote
    for tbl in tables:
        for col in tbl.primary_key.columns:
            if not isinstance(_base_type(col.type), Integer):
                continue
            seq = conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"),
                               {"t": quote(tbl.name), "c": col.name}).scalar()
            if not seq:
                continue
            qt, qc = quote(tbl.name), quote(col.name)
            conn.execute(text(
                f"SELECT setval(:s, COALESCE((SELECT MAX({qc}) FROM {qt}), 1), "  # noqa: S608
                f"(SELECT MAX({qc}) FROM {qt}) IS NOT NULL)"), {"s": seq})


def restore_backup(
    path: Path | str,
    *,
    force: bool = False,
    settings: Settings | None = None,
    engine: Engine | None = None,
    progress: ProgressCallback | None = None,
    actor: Actor | None = None,
) -> RestoreReport:
    """Replace all the rows and encrypted files by those of the backup at ``path``.

    Refuses a corrupt or truncated archive, and a database or file folder that already
    holds data unless ``force``. The database must be empty (no schema: it is created at
    the backup's revision) or at the backup's revision; it is upgraded to the code's
    revision afterwards."""
    settings, engine, owned = _resolve(settings, engine)
    progress = progress or _noop
    path = Path(path)
    blob_dir = settings.resolved_blob_dir
    keyring = settings.resolved_keyring_path.resolve()
    try:
        if not path.is_file():
            raise Invalid(f"sauvegarde introuvable : {path}", f"backup not found: {path}")
        if keyring.is_relative_to(blob_dir.resolve()):
            raise Invalid("le trousseau de clés ne doit pas se trouver dans le dossier des "
                          "fichiers chiffrés (il serait remplacé)",
                          "the key ring must not live inside the blob folder")
        blob_dir.parent.mkdir(parents=True, exist_ok=True)
        # Staged on the blob folder's own file system, so that the swap is a rename.
        if _is_mount(blob_dir):
            staging = blob_dir / f".restore-{secrets.token_hex(6)}"
        else:
            staging = blob_dir.parent / f".{blob_dir.name}.restore-{secrets.token_hex(6)}"
        staging.mkdir(mode=0o700, parents=True)
        try:
            manifest = _unpack(path, staging, progress)
            revision = manifest.get("alembic_revision")
            _check_revision(engine, revision)
            report = _load(engine, manifest, staging, blob_dir, force=force,
                           progress=progress)
            report.path = path
            head = migrate.head_revision()
            if revision != head and migrate.current_revision(engine) != head:
                migrate.upgrade(engine, "head")
                report.upgraded_to = head
            with transaction(engine) as session:
                record(session, actor=actor or Actor.system("restauration"),
                       action="backup.restore", object_type="backup", object_id=path.name,
                       details={"created_at": report.backup_created_at, "rows": report.rows,
                                "files": report.files, "revision": revision,
                                "forced": force})
            return report
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    finally:
        if owned:
            engine.dispose()


def _load(engine: Engine, manifest: dict[str, Any], staging: Path, blob_dir: Path, *,
          force: bool, progress: ProgressCallback) -> RestoreReport:
    """Replace every row in one transaction; swap the file folder just before commit."""
    backup_tables: dict[str, dict[str, Any]] = manifest["tables"]
    total_rows = sum(int(t["rows"]) for t in backup_tables.values())
    new_blobs = staging / "blobs"
    new_blobs.mkdir(exist_ok=True)
    undo: Callable[[], None] | None = None
    files = int((manifest.get("blobs") or {}).get("count", 0))
    restored: dict[str, int] = {}
    try:
        with engine.begin() as conn:
            meta = MetaData()
            meta.reflect(bind=conn)
            tables = _data_tables(meta)
            by_name = {t.name: t for t in tables}
            unknown = sorted(set(backup_tables) - set(by_name))
            if unknown:
                raise Invalid(f"tables absentes de la base : {', '.join(unknown)}",
                              f"tables missing from the database: {', '.join(unknown)}")
            dialect = conn.dialect.name
            if dialect == "postgresql" and tables:
                names = ", ".join(conn.dialect.identifier_preparer.quote(t.name)
                                  for t in tables)
                conn.execute(text(f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE"))
            elif dialect == "sqlite":
                conn.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
            if not force and _has_data(conn, tables, blob_dir):
                raise Conflict(
                    "la base ou le dossier des fichiers contient déjà des données : "
                    "restauration refusée (option --force pour tout remplacer)",
                    "the database or blob folder is not empty: use force to replace it")
            for tbl in reversed(tables):
                conn.execute(tbl.delete())
            done = 0
            progress("Restauration des lignes", 0, total_rows)
            for tbl in tables:
                info = backup_tables.get(tbl.name)
                if info is None:
                    continue
                kinds: dict[str, str] = info.get("columns") or {}
                missing = sorted(set(kinds) - set(tbl.c.keys()))
                if missing:
                    raise Invalid(
                        f"colonnes absentes de la table {tbl.name} : {', '.join(missing)}",
                        f"columns missing from {tbl.name}: {', '.join(missing)}")
                decoders = {}
                for name, kind in kinds.items():
                    target = tbl.c[name]
                    if isinstance(target.type, JSON):
                        # SQL NULL stays SQL NULL (not the JSON 'null' value).
                        target.type.none_as_null = bool(target.nullable)
                    decoders[name] = _decoder(kind, target.type)
                count = 0
                batch: list[dict[str, Any]] = []
                for row in _read_rows(staging / info["member"]):
                    batch.append({k: decoders[k](v) if k in decoders else v
                                  for k, v in row.items()})
                    if len(batch) >= BATCH:
                        conn.execute(tbl.insert(), batch)
                        count += len(batch)
                        batch = []
                        progress("Restauration des lignes", done + count, total_rows)
                if batch:
                    conn.execute(tbl.insert(), batch)
                    count += len(batch)
                if count != int(info["rows"]):
                    raise Invalid(
                        f"table {tbl.name} : {count} ligne(s) lue(s), {info['rows']} "
                        "annoncée(s) par le manifeste",
                        f"table {tbl.name}: row count does not match the manifest")
                done += count
                restored[tbl.name] = count
                progress("Restauration des lignes", done, total_rows)
            if dialect == "postgresql":
                _reset_sequences(conn, tables)
            # Files last, still inside the transaction: if the swap fails the rows roll
            # back; if the commit fails the old folder is put back below.
            undo, old_blobs = _swap_blobs(blob_dir, new_blobs, staging)
            progress("Fichiers chiffrés", files, files)
    except BaseException:
        if undo is not None:
            undo()
        raise
    shutil.rmtree(old_blobs, ignore_errors=True)
    return RestoreReport(path=Path(), backup_created_at=str(manifest.get("created_at", "?")),
                         revision=manifest.get("alembic_revision"), table_rows=restored,
                         files=files)


def _is_mount(path: Path) -> bool:
    return path.is_dir() and path.is_mount()


def _swap_blobs(blob_dir: Path, new_blobs: Path,
                staging: Path) -> tuple[Callable[[], None], Path]:
    """Put ``new_blobs`` in place of ``blob_dir``; returns how to undo it and the folder
    holding the old files (to delete once committed)."""
    token = secrets.token_hex(6)
    if not _is_mount(blob_dir):
        old = blob_dir.parent / f".{blob_dir.name}.old-{token}"
        if blob_dir.exists():
            os.replace(blob_dir, old)
        try:
            os.replace(new_blobs, blob_dir)
        except BaseException:
            if old.exists():
                os.replace(old, blob_dir)
            raise

        def undo_rename() -> None:
            with suppress(OSError):
                os.replace(blob_dir, staging / "blobs-failed")
            if old.exists():
                os.replace(old, blob_dir)

        return undo_rename, old

    # A mount point (a volume) cannot be renamed: swap its entries one by one.
    old = blob_dir / f".old-{token}"
    old.mkdir(mode=0o700)
    moved_out: list[str] = []
    moved_in: list[str] = []

    def undo_entries() -> None:
        for name in moved_in:
            with suppress(OSError):
                os.replace(blob_dir / name, new_blobs / name)
        for name in moved_out:
            os.replace(old / name, blob_dir / name)
        with suppress(OSError):
            old.rmdir()

    try:
        for entry in sorted(blob_dir.iterdir()):
            if not entry.name.startswith("."):
                os.replace(entry, old / entry.name)
                moved_out.append(entry.name)
        for entry in sorted(new_blobs.iterdir()):
            os.replace(entry, blob_dir / entry.name)
            moved_in.append(entry.name)
    except BaseException:
        undo_entries()
        raise
    return undo_entries, old


def read_manifest(path: Path | str) -> dict[str, Any]:
    """The manifest of a backup, without checking the other members (inspection)."""
    with tarfile.open(path, "r:*") as tar:
        fh = tar.extractfile(MANIFEST)
        if fh is None:  # pragma: no cover
            raise Invalid("manifeste absent", "no manifest")
        result: dict[str, Any] = json.loads(fh.read())
        return result

