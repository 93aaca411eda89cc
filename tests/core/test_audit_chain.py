"""The audit chain: appending takes no lock; sealing chains pending records in order;
altering, deleting or reordering a sealed record is detected and named."""

from __future__ import annotations

from sqlalchemy import delete, select, update

from esante.core.audit import Actor, AuditEvent, record, seal, verify_chain


def add(db, n: int) -> list[int]:  # type: ignore[no-untyped-def]
    return [record(db, actor=Actor.system("t"), action="test.event", object_type="t",
                   object_id=i).id for i in range(n)]


def test_records_are_pending_until_sealed_then_chained(db) -> None:
    ids = add(db, 5)
    report = verify_chain(db)
    assert report.ok
    assert report.pending >= 5
    sealed = seal(db)
    assert sealed >= 5
    report = verify_chain(db)
    assert report.ok
    assert report.pending == 0
    rows = db.scalars(select(AuditEvent).where(AuditEvent.id.in_(ids)).order_by(AuditEvent.id))
    seqs = [r.seq for r in rows]
    assert seqs == sorted(seqs)
    assert seal(db) == 0  # nothing left


def test_altered_sealed_record_is_named(db) -> None:
    ids = add(db, 4)
    seal(db)
    db.execute(update(AuditEvent).where(AuditEvent.id == ids[2]).values(action="forged"))
    db.expire_all()
    report = verify_chain(db)
    assert not report.ok
    assert report.first_bad_id == ids[2]
    assert "modifié" in report.reason


def test_deleted_sealed_record_breaks_the_chain(db) -> None:
    ids = add(db, 4)
    seal(db)
    db.execute(delete(AuditEvent).where(AuditEvent.id == ids[1]))
    db.expire_all()
    report = verify_chain(db)
    assert not report.ok
    assert report.first_bad_id == ids[2]


def test_later_records_extend_the_chain(db) -> None:
    add(db, 2)
    seal(db)
    add(db, 3)
    seal(db)
    report = verify_chain(db)
    assert report.ok
    assert report.pending == 0
