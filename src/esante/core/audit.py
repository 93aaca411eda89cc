"""Append-only, hash-chained audit trail.

Writers only append (no lock, no read of the chain head: a FHIR read that is audited must
not wait for every other one). A *sealer* then chains the pending records in order: each
gets a position ``seq`` and a hash covering its fields, its position and the previous
record's hash, so altering, inserting or deleting a sealed record breaks the chain from
that point; ``verify_chain`` names the first record that does not match. The worker seals
every minute and ``esante audit verify`` seals before verifying; one sealer runs at a time
(PostgreSQL advisory lock; SQLite serialises writers with BEGIN IMMEDIATE).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Required, TypedDict, Unpack, cast

from sqlalchemy import JSON, BigInteger, Integer, String, Table, func, insert, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from esante.core.db import Base, utcnow

GENESIS = "0" * 64
_PG_LOCK_KEY = 0x65_73_61_6E_74_65  # "esante"


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[int | None] = mapped_column(index=True)
    actor_label: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(80), index=True)
    object_type: Mapped[str] = mapped_column(String(60))
    object_id: Mapped[str] = mapped_column(String(120))
    # The person whose data was touched, when there is one: drives "who saw my data".
    subject_user_id: Mapped[int | None] = mapped_column(index=True)
    # The FHIR Patient whose record was touched ("Patient/123"): the patient lists these.
    patient_ref: Mapped[str | None] = mapped_column(String(80), index=True)
    ip: Mapped[str] = mapped_column(String(64), default="")
    justification: Mapped[str] = mapped_column(String(500), default="")
    outcome: Mapped[str] = mapped_column(String(20), default="success")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Set by the sealer: position in the chain, previous record's hash, this record's hash.
    seq: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                            unique=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64), unique=True)


@dataclass(frozen=True)
class Actor:
    """Who acts, as the audit trail names them."""

    user_id: int | None
    label: str
    ip: str = ""

    @classmethod
    def system(cls, label: str = "système") -> Actor:
        return cls(user_id=None, label=label)


def _digest(ev: AuditEvent) -> str:
    body = {
        "at": ev.at.isoformat(timespec="microseconds"),
        "actor_id": ev.actor_id,
        "actor_label": ev.actor_label,
        "action": ev.action,
        "object_type": ev.object_type,
        "object_id": ev.object_id,
        "subject_user_id": ev.subject_user_id,
        "ip": ev.ip,
        "justification": ev.justification,
        "outcome": ev.outcome,
        "details": ev.details,
        "prev_hash": ev.prev_hash,
        "seq": ev.seq,
    }
    if ev.patient_ref:  # hashed only when set, so that older records keep their hash
        body["patient_ref"] = ev.patient_ref
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class Event(TypedDict, total=False):
    """What a caller says of an event (``record`` and ``append`` take these arguments)."""

    actor: Required[Actor]
    action: Required[str]
    object_type: Required[str]
    object_id: Required[str | int]
    subject_user_id: int | None
    patient_ref: str | None
    justification: str
    outcome: str
    details: dict[str, Any] | None


def _fields(event: Event) -> dict[str, Any]:
    """An event's columns, bounded to their sizes (the one place an event is shaped)."""
    actor = event["actor"]
    return {
        "at": utcnow(), "actor_id": actor.user_id, "actor_label": actor.label[:200],
        "action": event["action"], "object_type": event["object_type"],
        "object_id": str(event["object_id"])[:120],
        "subject_user_id": event.get("subject_user_id"), "patient_ref": event.get("patient_ref"),
        "ip": actor.ip[:64], "justification": event.get("justification", "")[:500],
        "outcome": event.get("outcome", "success"), "details": event.get("details") or {},
    }


def record(session: Session, **event: Unpack[Event]) -> AuditEvent:
    """Append one event, in the caller's transaction (the sealer chains it later); the
    arguments are an ``Event``'s."""
    ev = AuditEvent(**_fields(event))
    session.add(ev)
    session.flush()
    return ev


_APPEND = insert(cast(Table, AuditEvent.__table__))


def append(session: Session, **event: Unpack[Event]) -> None:
    """``record`` for the hot paths (every FHIR read and search hit): one plain INSERT in
    the caller's transaction, without the ORM's unit of work; nothing returned."""
    session.execute(_APPEND, _fields(event))


def seal(session: Session, limit: int = 50_000) -> int:
    """Chain the pending records (in insertion order). Returns how many were sealed."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
    head = session.execute(select(AuditEvent.seq, AuditEvent.hash).where(
        AuditEvent.seq.is_not(None)).order_by(AuditEvent.seq.desc()).limit(1)).first()
    seq: int = (head[0] or 0) if head else 0
    prev: str = (head[1] or GENESIS) if head else GENESIS
    pending = session.scalars(select(AuditEvent).where(AuditEvent.seq.is_(None))
                              .order_by(AuditEvent.id).limit(limit)).all()
    for ev in pending:
        seq += 1
        ev.seq, ev.prev_hash = seq, prev
        prev = ev.hash = _digest(ev)
    session.flush()
    return len(pending)


@dataclass
class ChainReport:
    checked: int
    first_bad_id: int | None = None
    reason: str = ""
    pending: int = 0  # appended, not sealed yet

    @property
    def ok(self) -> bool:
        return self.first_bad_id is None


def iter_sealed(session: Session, batch: int = 5000) -> Iterator[AuditEvent]:
    last = 0
    while True:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.seq > last).order_by(AuditEvent.seq).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq or 0
        session.expunge_all()


def verify_chain(session: Session) -> ChainReport:
    prev = GENESIS
    count = 0
    for ev in iter_sealed(session):
        if ev.seq != count + 1:
            return ChainReport(count, ev.id, "position manquante dans la chaîne (enregistrement "
                                             "supprimé)")
        if ev.prev_hash != prev:
            return ChainReport(count, ev.id, "maillon précédent rompu (enregistrement supprimé ou inséré)")
        if _digest(ev) != ev.hash:
            return ChainReport(count, ev.id, "contenu modifié (empreinte différente)")
        prev = ev.hash or ""
        count += 1
    pending = session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.seq.is_(None))) or 0
    return ChainReport(count, pending=pending)
