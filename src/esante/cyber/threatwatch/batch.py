"""Batch matching: every open advisory against every inventory in one pass (the nightly
re-run, ``esante cyber advisories rematch``, and the benchmark)."""

from __future__ import annotations

import gc
import json
import time
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from esante.core.db import utcnow
from esante.core.orgs.models import Establishment
from esante.cyber.threatwatch.matching import InventoryIndex, Range
from esante.cyber.threatwatch.models import Advisory, Alert, InstalledProduct
from esante.cyber.threatwatch.service import ranges_of, unique_matches


def match_all(session: Session, *, chunk: int = 20_000) -> dict[str, float | int]:
    """Match every open advisory against every inventory in one pass (the nightly job and
    the benchmark): inventories loaded once into one index, alerts written in bulk for the
    pairs that have none yet. No notification is sent (a re-run after a data load, not a
    publication). Returns counts, and the seconds spent in each step (wall clock, and
    ``cpu_s``: this process's CPU time, which a busy machine does not inflate)."""
    clock = _Clock()
    collecting = gc.isenabled()
    gc.disable()  # millions of small objects, none cyclic: the collector would rescan them
    try:
        return _match_all(session, chunk, clock)
    finally:
        if collecting:
            gc.enable()


class _Clock:
    """Wall-clock and CPU seconds per step."""

    def __init__(self) -> None:
        self.last = self.start = (time.perf_counter(), time.process_time())
        self.steps: dict[str, float] = {}

    def step(self, name: str) -> None:
        now = (time.perf_counter(), time.process_time())
        self.steps[f"{name}_s"] = now[0] - self.last[0]
        self.steps[f"{name}_cpu_s"] = now[1] - self.last[1]
        self.last = now

    def totals(self) -> dict[str, float]:
        return {**self.steps, "total_s": self.last[0] - self.start[0],
                "cpu_s": self.last[1] - self.start[1]}


def _match_all(session: Session, chunk: int, clock: _Clock) -> dict[str, float | int]:
    names: dict[str, str] = {}  # one string per distinct CPE name, shared by every inventory
    index = InventoryIndex((r[0], r[1], r[2], r[3], (r[4], names.setdefault(r[5], r[5])))
                           for r in _installed(session))
    clock.step("load")
    open_ids = list(session.scalars(select(Advisory.id).where(Advisory.status == "open")))
    ranges: dict[int, list[Range]] = defaultdict(list)
    for i in range(0, len(open_ids), chunk):
        ranges.update(ranges_of(session, open_ids[i:i + chunk]))
    existing = set(session.execute(select(Alert.advisory_id, Alert.establishment_id)))
    places = {e[0]: (e[1], e[2]) for e in session.execute(select(
        Establishment.id, Establishment.finess, Establishment.region_code))}
    clock.step("read")
    pending: list[tuple[Any, ...]] = []
    connection = session.connection()
    to_db = _processors(connection.dialect)
    now = to_db["created_at"](utcnow())
    matched_to_db = to_db["matched"]
    for adv_id in open_ids:
        hits: dict[int, list[dict[str, str]]] = defaultdict(list)
        for (est_id, name), version in index.match(ranges.get(adv_id, [])):
            hits[est_id].append({"cpe": name, "version": version})
        for est_id, matched in hits.items():
            if (adv_id, est_id) not in existing:
                finess, region = places[est_id]
                pending.append((adv_id, est_id, finess, region, "new", "",
                                matched_to_db(unique_matches(matched)[:200]), now, now))
    clock.step("match")
    # The driver's executemany with values already in the database's form: a million rows
    # through SQLAlchemy's per-row parameter handling would cost more than the matching.
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    sql = (f"INSERT INTO {Alert.__tablename__} ({', '.join(_ALERT_COLUMNS)}) "  # noqa: S608
           f"VALUES ({', '.join([mark] * len(_ALERT_COLUMNS))})")
    cursor = connection.connection.cursor()
    try:
        for i in range(0, len(pending), chunk):
            cursor.executemany(sql, pending[i:i + chunk])
    finally:
        cursor.close()
    clock.step("write")
    return {"products": len(names), "advisories": len(open_ids), "alerts": len(pending),
            **clock.totals()}


_ALERT_COLUMNS = ("advisory_id", "establishment_id", "finess", "region_code", "status", "note",
                  "matched", "created_at", "updated_at")


def _processors(dialect: Any) -> dict[str, Any]:
    """How SQLAlchemy turns a value into the database's form, per column that needs it."""
    table = Alert.__table__
    out: dict[str, Any] = {}
    for name in ("matched", "created_at"):
        process = table.c[name].type.bind_processor(dialect)
        out[name] = process or (lambda value: value)
    if dialect.name == "postgresql":  # its JSON processor leaves the adaptation to the driver
        out["matched"] = json.dumps
    return out


def _installed(session: Session, batch: int = 50_000) -> Iterator[tuple[Any, ...]]:
    """Every installed product, read through the driver's cursor (no row objects: a
    million rows are read in a few seconds)."""
    cursor = session.connection().connection.cursor()
    try:
        cursor.execute(f"SELECT part, vendor, product, version, establishment_id, cpe "  # noqa: S608
                       f"FROM {InstalledProduct.__tablename__}")
        while rows := cursor.fetchmany(batch):
            yield from rows
    finally:
        cursor.close()
