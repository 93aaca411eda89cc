"""Probabilistic record linkage of French identities (Fellegi-Sunter family).

The public names:

* ``deduplicate_file(path, out)`` — the batch engine behind ``esante identity dedup``;
* ``score_pair(a, b)`` — the match probability of two identity records (dicts with the
  columns of ``COLUMNS``), for a desk's duplicate candidates;
* ``blocking_keys(record)`` — the keys under which a record is indexed, so that candidates
  are looked up in real time by key equality;
* ``Parameters``, ``InputError``, ``COLUMNS``.

The machinery lives in ``internals/``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path

import duckdb

from esante.identity.matching.internals import engine
from esante.identity.matching.internals.blocking import keys_sql
from esante.identity.matching.internals.engine import Step, Summary
from esante.identity.matching.internals.model import Parameters
from esante.identity.matching.internals.prepare import (
    COLUMNS,
    InputError,
    build_records,
    load_csv,
    load_records,
)

__all__ = ["COLUMNS", "InputError", "Parameters", "Summary", "blocking_keys", "deduplicate_file",
           "score_pair"]

_local = threading.local()


def _connection() -> duckdb.DuckDBPyConnection:
    con = getattr(_local, "con", None)
    if con is None:
        con = duckdb.connect(config={"threads": 1})
        _local.con = con
    return con


def deduplicate_file(path: Path, out: Path, *, threshold: float = 0.9, threads: int | None = None,
                     step: Step = lambda _: None) -> Summary:
    """Read ``path`` (CSV, UTF-8), find the clusters of records of one person, write ``out``
    (record_id, cluster_id, match_probability). Raises ``InputError`` on a bad file, before
    anything is written."""
    config: dict[str, str | bool | int | float | list[str]] = {"threads": threads} if threads else {}
    with duckdb.connect(config=config) as con:
        step("Lecture et contrôle du fichier")
        load_csv(con, path)
        step("Normalisation des traits")
        build_records(con)
        summary = engine.run(con, params=Parameters(threshold=threshold), step=step)
        step("Écriture des groupes")
        con.execute("COPY (SELECT record_id, cluster_id, match_probability FROM result ORDER BY rid) "
                    "TO ? (HEADER, DELIMITER ',')", [str(out)])
    return summary


def score_pair(a: Mapping[str, object], b: Mapping[str, object], params: Parameters | None = None) -> float:
    """Probability that two identity records are the same person (default parameters; no
    term frequencies, which need a whole file)."""
    params = params or Parameters()
    con = _connection()
    load_records(con, [{**a, "record_id": "a"}, {**b, "record_id": "b"}])
    build_records(con, term_frequencies=False)
    con.execute("CREATE OR REPLACE TEMP TABLE one_pair AS SELECT 0::BIGINT AS l, 1::BIGINT AS r")
    levels = engine.pair_levels_sql("one_pair")
    row = con.execute(f"SELECT weight FROM ({engine.score_sql(params, f'({levels})')})").fetchone()
    weight = float(row[0]) if row else -40.0
    return 1 / (1 + 2 ** -weight)


def blocking_keys(record: Mapping[str, object]) -> list[str]:
    """The blocking keys of one record (``rule:value`` strings): two records are candidates
    when they share one."""
    con = _connection()
    load_records(con, [{**record, "record_id": "x"}])
    build_records(con, term_frequencies=False)
    return sorted({key for _, key in con.execute(keys_sql()).fetchall()})
