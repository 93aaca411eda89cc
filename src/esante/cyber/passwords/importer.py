"""Importing breached hashes: a full dump (``SHA1:COUNT`` per line) or range files (one per
prefix, named by it, ``SUFFIX:COUNT`` per line), in batches; importing twice changes
nothing (a hash already stored takes the count of the file)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from importlib import resources
from pathlib import Path

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from esante.cyber.passwords.models import BreachedHash
from esante.cyber.passwords.service import PREFIX_LENGTH

BATCH = 5000
_FULL = re.compile(r"^([0-9A-Fa-f]{40}):(\d{1,10})$")
_SUFFIX = re.compile(r"^([0-9A-Fa-f]{35}):(\d{1,10})$")
_RANGE_NAME = re.compile(r"^[0-9A-Fa-f]{5}$")

Row = tuple[str, str, int]


def parse_line(line: str, *, prefix: str | None = None) -> Row | None:
    """A line of a dump (``prefix`` None) or of a range file; None for a blank line or a
    ``#`` comment; ValueError for anything else."""
    line = line.strip()
    if not line or line.startswith("#"):
        return None
    if prefix is None:
        m = _FULL.match(line)
        if m is None:
            raise ValueError(f"ligne invalide (attendu SHA1:NOMBRE) : {line[:60]!r}")
        digest = m.group(1).upper()
        return digest[:PREFIX_LENGTH], digest[PREFIX_LENGTH:], min(int(m.group(2)), 2**31 - 1)
    m = _SUFFIX.match(line)
    if m is None:
        raise ValueError(f"ligne invalide (attendu SUFFIXE:NOMBRE) : {line[:60]!r}")
    return prefix.upper(), m.group(1).upper(), min(int(m.group(2)), 2**31 - 1)


def range_prefix(path: Path) -> str:
    """The prefix a range file is named by (``5BAA6``, ``5BAA6.txt``)."""
    if not _RANGE_NAME.match(path.stem):
        raise ValueError(f"fichier de plage mal nommé (attendu 5 caractères hexadécimaux) : "
                         f"{path.name}")
    return path.stem.upper()


def upsert(session: Session, rows: Iterable[Row]) -> int:
    """Stores a batch; a hash already there takes the new count."""
    unique = {(p, s): c for p, s, c in rows}  # one row per key: ON CONFLICT needs it
    if not unique:
        return 0
    values = [{"prefix": p, "suffix": s, "count": c} for (p, s), c in unique.items()]
    dialect = session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = insert(BreachedHash).values(values)
        session.execute(stmt.on_conflict_do_update(
            index_elements=["prefix", "suffix"], set_={"count": stmt.excluded.count}))
    else:  # pragma: no cover - the platform runs on PostgreSQL or SQLite
        for v in values:
            session.merge(BreachedHash(**v))
    session.flush()
    return len(values)


def import_lines(session: Session, lines: Iterable[str], *, prefix: str | None = None,
                 batch: int = BATCH, on_batch: Callable[[int], None] | None = None) -> int:
    """Imports lines into ``session`` batch by batch; ``on_batch`` is called after each
    batch (with the number of rows), e.g. to commit or to move a progress bar."""
    done = 0
    pending: list[Row] = []
    for line in lines:
        row = parse_line(line, prefix=prefix)
        if row is not None:
            pending.append(row)
        if len(pending) >= batch:
            done += _flush(session, pending, on_batch)
    if pending:
        done += _flush(session, pending, on_batch)
    return done


def _flush(session: Session, pending: list[Row], on_batch: Callable[[int], None] | None) -> int:
    n = upsert(session, pending)
    pending.clear()
    if on_batch:
        on_batch(n)
    return n


def shipped_corpus() -> str:
    """The small corpus shipped with the platform (dump format), as text."""
    return (resources.files("esante.cyber.passwords") / "data" / "common-sha1.txt").read_text(
        encoding="utf-8")


def load_shipped_corpus(session: Session) -> int:
    return import_lines(session, shipped_corpus().splitlines())
