"""Date shifting: each person's dates move by one number of days derived from the project
key (never zero, within the bound), so that intervals stay exact; another key, other
shifts; DuckDB and Spark write the same shifted extract."""

from __future__ import annotations

import hashlib
import hmac
import shutil
from collections import defaultdict
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from esante.datahub.pipeline import run_extract, sample
from esante.datahub.pipeline.spec import (
    ColumnSpec,
    DateHierarchy,
    ExtractSpec,
    MappingHierarchy,
    Sensitivity,
    TableSpec,
)
from esante.datahub.pipeline.ttp import date_shift_key

KEY = b"\x11" * 32
BOUND = 20


def _stays(tmp: Path, rows: int = 4000) -> Path:
    return sample.write(sample.stays_sql(rows, people=400, communes=60), tmp / "stays.parquet")


def _spec(path: Path, *, shift: bool = True, k: int = 1) -> ExtractSpec:
    qi = Sensitivity.quasi_identifier
    cols = {
        "stay_id": ColumnSpec(sensitivity=Sensitivity.other),
        "admission": ColumnSpec(sensitivity=qi, hierarchy=DateHierarchy(shift=shift)),
        "sexe": ColumnSpec(sensitivity=qi, hierarchy=MappingHierarchy()),
    }
    return ExtractSpec(project_id="p-shift", tables={"sejours": TableSpec(path=path, columns=cols)},
                              k=k, date_shift_max_days=BOUND)


def _shifts(src: Path, out: Path) -> dict[str, set[int]]:
    original = {r["stay_id"]: r["admission"] for r in pq.read_table(src).to_pylist()}
    per_person: dict[str, set[int]] = defaultdict(set)
    for r in pq.read_table(out / "sejours.parquet").to_pylist():
        shifted = date.fromisoformat(r["admission"])  # the released text, exact level
        per_person[r["pseudonym"]].add((shifted - original[r["stay_id"]]).days)
    return per_person


def test_one_shift_per_person_within_the_bound(tmp_path: Path) -> None:
    src = _stays(tmp_path)
    report = run_extract(_spec(src), out_dir=tmp_path / "a", key=KEY)
    col = {c.name: c for c in report.tables[0].columns}["admission"]
    assert col.level == 0 and col.date_shift_max_days == BOUND  # k=1: the exact shifted date
    shifts = _shifts(src, tmp_path / "a")
    assert len(shifts) > 300 and all(len(s) == 1 for s in shifts.values())  # one per person
    values = [next(iter(s)) for s in shifts.values()]
    assert all(1 <= abs(d) <= BOUND for d in values)
    assert len(set(values)) > BOUND  # spread over the range, both ways
    # derived from the project key, as documented: HMAC of the person id with the shift key
    ids = pq.read_table(src).column("person_id").to_pylist()
    skey = date_shift_key(KEY)
    for pid in ids[:50]:
        pseudo = hmac.new(KEY, str(pid).encode(), hashlib.sha256).hexdigest()
        r = int(hmac.new(skey, str(pid).encode(), hashlib.sha256).hexdigest()[:8], 16) % (2 * BOUND)
        assert shifts[pseudo] == {r - BOUND if r < BOUND else r - BOUND + 1}
    # another project's key: other shifts
    run_extract(_spec(src), out_dir=tmp_path / "b", key=b"\x22" * 32)
    other = [next(iter(s)) for s in _shifts(src, tmp_path / "b").values()]
    assert sorted(other) != sorted(values)


def test_shift_then_generalise_keeps_k(tmp_path: Path) -> None:
    src = _stays(tmp_path)
    report = run_extract(_spec(src, k=5), out_dir=tmp_path / "k", key=KEY)
    assert report.tables[0].k_reached >= 5


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java (17 on this machine)")
def test_spark_and_duckdb_shift_identically(tmp_path: Path) -> None:
    src = _stays(tmp_path, rows=1500)
    spec = _spec(src, k=3)
    duck = run_extract(spec, engine="duckdb", out_dir=tmp_path / "duckdb", key=KEY)
    spark = run_extract(spec, engine="spark", out_dir=tmp_path / "spark", key=KEY)
    rows = lambda d: sorted(tuple(r.values()) for r in pq.read_table(d / "sejours.parquet").to_pylist())  # noqa: E731
    assert len(rows(duck.out_dir)) > 1000 and rows(duck.out_dir) == rows(spark.out_dir)
    assert duck.tables[0].columns == spark.tables[0].columns
