"""Risk measured on a released file: singling out (k, uniques, prosecutor risk) and inference
(distinct l-diversity, t-closeness with the equal-distance EMD on the sensitive column)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.parquet as pq
from pydantic import BaseModel

from esante.datahub.pipeline.errors import PipelineError


class RiskMeasure(BaseModel):
    rows: int
    quasi_identifiers: list[str]
    sensitive: str | None
    classes: int
    k: int | None
    uniques: int
    prosecutor_risk_max: float
    prosecutor_risk_avg: float
    records_at_risk: int  # records in classes smaller than k_threshold
    k_threshold: int
    l: int | None = None  # noqa: E741
    t: float | None = None


def _q(col: str) -> str:
    return '"' + col.replace('"', '""') + '"'


def measure_parquet(
    path: Path,
    *,
    qis: list[str],
    sensitive: str | None = None,
    k_threshold: int = 5,
    con: duckdb.DuckDBPyConnection | None = None,
) -> RiskMeasure:
    """Measure the file as it is (no generalisation)."""
    if not path.exists():
        raise PipelineError(f"fichier introuvable : {path}", code="file-not-found")
    try:
        names = pq.read_schema(path).names
    except Exception as exc:
        raise PipelineError(
            f"fichier Parquet illisible : {path.name} ({exc})", code="malformed-parquet"
        ) from None
    if not qis:
        raise PipelineError("au moins un quasi-identifiant (--qi) est nécessaire", code="no-qi")
    missing = [c for c in [*qis, *([sensitive] if sensitive else [])] if c not in names]
    if missing:
        raise PipelineError(
            f"colonne(s) absente(s) de {path.name} : {', '.join(missing)}", code="unknown-column"
        )
    con = con or duckdb.connect()
    src = str(path).replace("'", "''")
    con.execute(f"CREATE OR REPLACE TEMP VIEW released AS SELECT * FROM read_parquet('{src}')")
    return measure(con, "released", qis=qis, sensitive=sensitive, k_threshold=k_threshold)


def measure(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    *,
    qis: list[str],
    sensitive: str | None,
    k_threshold: int = 5,
) -> RiskMeasure:
    g = ", ".join(_q(c) for c in qis)
    ls = f"count(DISTINCT {_q(sensitive)})" if sensitive else "NULL"
    row = con.execute(f"""
        SELECT coalesce(sum(n), 0), count(*), min(n), count(*) FILTER (WHERE n = 1),
               coalesce(max(1.0 / n), 0), coalesce(sum(n) FILTER (WHERE n < {int(k_threshold)}), 0), min(ls)
        FROM (SELECT {g}, count(*) AS n, {ls} AS ls FROM {relation} GROUP BY {g})""").fetchall()[0]
    rows, classes = int(row[0]), int(row[1])
    t = None
    if sensitive and rows:
        s = _q(sensitive)
        t = con.execute(f"""
            WITH cs AS (SELECT {g}, {s} AS s, count(*)::DOUBLE AS ns,
                               sum(count(*)) OVER (PARTITION BY {g})::DOUBLE AS cn
                        FROM {relation} GROUP BY {g}, {s}),
                 p AS (SELECT {s} AS s, count(*) / {rows}::DOUBLE AS p FROM {relation} GROUP BY {s})
            SELECT max(tc) FROM (SELECT 0.5 * (1 + sum(abs(ns / cn - p) - p)) AS tc
                                 FROM cs JOIN p ON cs.s IS NOT DISTINCT FROM p.s GROUP BY {g})""").fetchall()[
            0
        ][0]
    return RiskMeasure(
        rows=rows,
        quasi_identifiers=qis,
        sensitive=sensitive,
        classes=classes,
        k=row[2],
        uniques=int(row[3]),
        prosecutor_risk_max=round(float(row[4]), 6),
        prosecutor_risk_avg=round(classes / rows, 6) if rows else 0.0,
        records_at_risk=int(row[5]),
        k_threshold=k_threshold,
        l=row[6] if sensitive else None,
        t=round(float(t), 6) if t is not None else None,
    )
