"""The batch scan reads the establishment once (no query per identity) and queues exactly
the pairs that the desk's real-time path (one blocking query per identity, then
``enqueue`` and ``check_collision``) would queue."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from sqlalchemy import event, select

from esante.core.errors import Invalid
from esante.identity import duplicates, service, vigilance
from esante.identity.matching.synthetic import write_file
from esante.identity.models import LocalIdentity, VigilancePair
from esante.identity.traits import Traits
from tests.identity.conftest import principal


def _load(db, finess: str, est_id: int, rows: list[dict[str, str]]) -> int:
    """Identities written straight to the table (as an import of old records would leave
    them), so that no pair exists before the scan."""
    added = 0
    for row in rows:
        first = row["first_names"].split()
        if not first or not row["birth_name"]:
            continue
        sex = {"1": "M", "2": "F"}.get(row["sex"], row["sex"].upper()[:1])
        try:  # the generator's made-up birth places and bad keys: dropped, as a desk would
            clean, matricule = _prepare(row, first, sex)
        except Invalid:
            continue
        data = service.traits_record(clean, matricule=matricule,
                                     oid="1.2.250.1.213.1.4.8" if matricule else "")
        identity = LocalIdentity(establishment_id=est_id, finess=finess,
                                 traits_enc=service.encode_traits(db, data))
        service._apply_keys(db, identity, data)
        db.add(identity)
        added += 1
    db.flush()
    return added


def _prepare(row: dict[str, str], first: list[str], sex: str) -> tuple[Traits, str]:
    for place, nir in ((row["birth_place"], row["nir"]), ("", row["nir"]), ("", "")):
        try:
            return service.prepare(Traits(row["birth_name"], first, sex, row["birth_date"], place,
                                          used_name=row["used_name"]), nir)
        except Invalid:
            continue
    raise Invalid("ligne inutilisable")


def _pairs(db, finess: str) -> set[tuple[Any, ...]]:
    return {(p.first_id, p.second_id, p.kind, p.score, p.reason) for p in db.scalars(
        select(VigilancePair).where(VigilancePair.finess == finess))}


def _per_identity(db, finess: str) -> None:
    """The real-time path, identity after identity (what the scan used to do)."""
    ids = db.scalars(select(LocalIdentity.id).where(
        LocalIdentity.finess == finess, LocalIdentity.merged_into_id.is_(None))
        .order_by(LocalIdentity.id)).all()
    for identity_id in ids:
        identity = db.get(LocalIdentity, identity_id)
        found = [c for c in duplicates.candidates(db, finess, service.decode_traits(db, identity),
                                                  exclude_id=identity.id)
                 if c.identity.id < identity.id]
        vigilance.enqueue(db, identity, found)
        if identity.nir_hash:
            vigilance.check_collision(db, identity)


def test_scan_queues_what_the_real_time_path_queues(db, personas, tmp_path: Path):
    source = tmp_path / "in.csv"
    write_file(source, tmp_path / "truth.csv", 400, seed=11)
    with source.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    est = personas.est["A"]
    loaded = _load(db, est.finess, est.id, rows)
    assert loaded > 400

    nested = db.begin_nested()
    _per_identity(db, est.finess)
    expected = _pairs(db, est.finess)
    nested.rollback()
    assert _pairs(db, est.finess) == set()
    kinds = {k for _a, _b, k, _s, _r in expected}
    assert len(expected) > 50 and kinds == {"duplicate", "collision"}

    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    engine = db.get_bind().engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        result = vigilance.scan(db, principal(personas, "idv_a"), est.finess)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert _pairs(db, est.finess) == expected
    assert result == {"identities": loaded, "new_pairs": len(expected)}
    # a handful of reads for the whole establishment, not one per identity (the writes are
    # the new pairs and the audit record)
    reads = [q for q in statements if q.lstrip().upper().startswith("SELECT")]
    assert len(reads) < 10, reads
    assert len(statements) - len(reads) <= len(expected) + 5
    # a second scan finds nothing new and changes nothing
    assert vigilance.scan(db, principal(personas, "idv_a"), est.finess)["new_pairs"] == 0
    assert _pairs(db, est.finess) == expected
