"""The batch path (DuckDB SQL) and the real-time path (Python) state the same rules: on a
generated file, every pair gets the same levels and every record the same blocking keys."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import duckdb
import pytest

from esante.identity.matching.internals import scalar
from esante.identity.matching.internals.blocking import build_pairs, keys_sql
from esante.identity.matching.internals.comparisons import COMPARISONS
from esante.identity.matching.internals.engine import pair_levels_sql
from esante.identity.matching.internals.prepare import build_records, load_csv
from esante.identity.matching.synthetic import write_file

Prepared = tuple[duckdb.DuckDBPyConnection, list[dict[str, str]]]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    folder = tmp_path_factory.mktemp("paths")
    source = folder / "identities.csv"
    write_file(source, folder / "truth.csv", 1500, seed=5)
    con = duckdb.connect()
    load_csv(con, source)
    build_records(con, term_frequencies=False)
    with Path(source).open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return con, rows


def test_levels_agree_on_blocked_and_random_pairs(prepared: Prepared) -> None:
    con, rows = prepared
    assert build_pairs(con) > 300
    con.execute("INSERT INTO pairs SELECT l, r FROM (SELECT (i * 7919) % 1500 AS l, (i * 104729 + 13) % 1500 "
                "AS r FROM range(3000) t(i)) WHERE l < r")
    sql = con.execute(f"SELECT * FROM ({pair_levels_sql('pairs')})").fetchall()
    names = [c.name for c in COMPARISONS]
    prepared_rows = [scalar.prepare(r) for r in rows]
    for row in sql:
        left, right, *levels = row[:2 + len(names)]
        expected = dict(zip(names, levels, strict=True))
        assert scalar.levels(prepared_rows[left], prepared_rows[right]) == expected, (rows[left], rows[right])


def test_blocking_keys_agree(prepared: Prepared) -> None:
    con, rows = prepared
    by_record: dict[int, set[str]] = defaultdict(set)
    for rid, key in con.execute(keys_sql()).fetchall():
        by_record[rid].add(key)
    for rid, row in enumerate(rows):
        assert scalar.keys(scalar.prepare(row)) == sorted(by_record[rid]), row
