"""One twins rule, stated by the matching engine and used as is by the desk and the batch:
twins (same birth date and family name, first birth first names that differ, even with a
middle name in common) are never merged nor queued as duplicates, and never lost (each keeps
its record; the desk sees the other with a warning). A swapped or missing first name is
not twins: that duplicate goes to the queue."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest
from sqlalchemy import select

from esante.identity import duplicates, service, vigilance
from esante.identity.matching import deduplicate_file, judge_pair
from esante.identity.matching.internals import scalar
from esante.identity.matching.internals.engine import pair_levels_sql
from esante.identity.matching.internals.prepare import build_records, load_csv
from esante.identity.models import VigilancePair
from esante.identity.traits import Traits
from tests.identity.conftest import principal, traits_of

HEADER = ["record_id", "birth_name", "used_name", "first_names", "sex", "birth_date",
          "birth_place", "nir"]
PAIRS = [  # (first names a, first names b, twins?)
    ("LEA ANNE", "LOUISE ANNE", True),   # a middle name in common: still twins
    ("PAUL", "PIERRE", True),
    ("THEO", "TOM", True),
    ("JEANNE MARIE", "MARIE JEANNE", False),  # swapped
    ("JEANNE MARIE", "JEANNE", False),  # second name missing
    ("JEANNE MARIE", "MARIE", False),  # first name missing (the used one typed)
    ("LEA", "LEAH", False),  # spelling variant
    ("JEAN-PIERRE", "JEAN", False),  # compound first name cut
]


def _record(rid: str, first_names: str) -> dict[str, str]:
    return {"record_id": rid, "birth_name": "DURAND", "used_name": "", "first_names": first_names,
            "sex": "F", "birth_date": "2015-03-03", "birth_place": "69123", "nir": ""}


@pytest.mark.parametrize(("first", "second", "twins"), PAIRS)
def test_the_rule_on_one_pair(first: str, second: str, twins: bool) -> None:
    verdict = judge_pair(_record("1", first), _record("2", second))
    assert verdict.twins is twins
    assert (verdict.probability < 0.01) if twins else (verdict.probability > 0.9)


def test_batch_and_real_time_paths_state_the_same_rule(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    rows = [_record(str(i * 2 + j + 1), names) for i, (a, b, _t) in enumerate(PAIRS)
            for j, names in enumerate((a, b))]
    with source.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, HEADER)
        writer.writeheader()
        writer.writerows(rows)
    con = duckdb.connect()
    load_csv(con, source)
    build_records(con, term_frequencies=False)
    con.execute("CREATE TEMP TABLE pairs AS SELECT range * 2 AS l, range * 2 + 1 AS r "
                f"FROM range({len(PAIRS)})")
    sql = dict(con.execute(f"SELECT l, twin_first FROM ({pair_levels_sql('pairs')})").fetchall())
    prepared = [scalar.prepare(r) for r in rows]
    for i, (_a, _b, twins) in enumerate(PAIRS):
        levels = scalar.levels(prepared[2 * i], prepared[2 * i + 1])
        assert scalar.twins(levels, prepared[2 * i], prepared[2 * i + 1]) is twins
        assert bool(sql[2 * i]) is scalar.twin_first(prepared[2 * i], prepared[2 * i + 1])


def test_dedup_never_merges_twins_and_keeps_every_record(tmp_path: Path) -> None:
    source, out = tmp_path / "in.csv", tmp_path / "out.csv"
    rows = [_record("1", "LEA ANNE"), _record("2", "LOUISE ANNE"),
            _record("3", "LEA ANNE"),  # Léa typed twice: one person
            _record("4", "ANNE LOUISE")]  # Louise with her first names swapped
    with source.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, HEADER)
        writer.writeheader()
        writer.writerows(rows)
    deduplicate_file(source, out)
    with out.open() as f:
        clusters = {r["record_id"]: r["cluster_id"] for r in csv.DictReader(f)}
    assert sorted(clusters) == ["1", "2", "3", "4"]  # nothing lost
    assert clusters["1"] == clusters["3"]
    assert clusters["1"] != clusters["2"]  # twins never merged
    # "ANNE LOUISE" shares a first name with both twins and the engine's first-name levels
    # do not tell a swapped list from one name in common: it joins exactly one of them (the
    # same one on every run), never both.
    assert clusters["4"] in (clusters["1"], clusters["2"])


def test_desk_shows_twins_without_queueing_them_and_queues_swapped_names(db, personas, ref):
    clerk = principal(personas, "clerk_a")
    finess = personas.est["A"].finess
    lea, _ = service.create(db, clerk, finess=finess, traits=traits_of(ref.twin_lea))
    louise, found = service.create(db, clerk, finess=finess, traits=traits_of(ref.twin_louise))
    assert [c.identity.id for c in found] == [lea.id]  # not lost: shown, with the warning
    assert duplicates.TWINS in found[0].reasons and found[0].score < duplicates.SHOWN
    assert db.scalar(select(VigilancePair).where(VigilancePair.second_id == louise.id)) is None
    # the desk's old guard capped every "first first name differs" pair below the queue; the
    # engine's rule sees swapped first names as one person, and the pair is queued
    swapped, found = service.create(db, clerk, finess=finess, traits=Traits(
        "Durand", ["Anne", "Lea"], "F", "2015-03-03", "69123"))
    assert [c.identity.id for c in found][:1] == [lea.id]
    assert found[0].score >= duplicates.QUEUED and duplicates.TWINS not in found[0].reasons
    queued = db.scalars(select(VigilancePair).where(VigilancePair.second_id == swapped.id)).all()
    assert lea.id in {p.first_id for p in queued}  # (Louise too: ANNE first, the cell decides)
    # the batch scan agrees: no twin pair queued
    vigilance.scan(db, principal(personas, "idv_a"), finess)
    pairs = db.scalars(select(VigilancePair).where(VigilancePair.finess == finess)).all()
    assert {frozenset((p.first_id, p.second_id)) for p in pairs} & {
        frozenset((lea.id, louise.id))} == set()
