"""The same extract on Spark (local mode, the machine's Java) and on DuckDB: identical files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from esante.datahub.pipeline import run_extract, sample
from tests.datahub.pipeline_data import COMMUNES, people_file

pytestmark = pytest.mark.slow

KEY = b"\x07" * 32


@pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java (17 on this machine)")
def test_spark_and_duckdb_write_identical_extracts(tmp_path: Path) -> None:
    people = people_file(tmp_path, rows=1500)
    spec = sample.people_spec(
        people, project_id="p-spark", k=4, l=2, communes=COMMUNES, opted_out=frozenset({"1", "2", "3", "50"})
    )
    duck = run_extract(spec, engine="duckdb", out_dir=tmp_path / "duckdb", key=KEY)
    spark = run_extract(spec, engine="spark", out_dir=tmp_path / "spark", key=KEY)

    a = pq.read_table(duck.out_dir / "personnes.parquet")
    b = pq.read_table(spark.out_dir / "personnes.parquet")
    assert a.column_names == b.column_names
    rows = lambda t: sorted(tuple(r.values()) for r in t.to_pylist())  # noqa: E731
    assert len(a) > 1000 and rows(a) == rows(b)
    ra, rb = (json.loads((r.out_dir / "report.json").read_text())["tables"][0] for r in (duck, spark))
    for field in (
        "rows_out",
        "rows_suppressed",
        "k_reached",
        "l_reached",
        "t_reached",
        "information_loss",
        "columns",
    ):
        assert ra[field] == rb[field], field
