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

from collections.abc import Mapping
from pathlib import Path

import duckdb

from esante.identity.matching.internals import engine, scalar
from esante.identity.matching.internals.engine import Step, Summary
from esante.identity.matching.internals.model import Parameters
from esante.identity.matching.internals.prepare import COLUMNS, InputError, build_records, load_csv

__all__ = ["COLUMNS", "InputError", "Parameters", "Summary", "blocking_keys", "deduplicate_file",
           "score_pair"]

def deduplicate_file(path: Path, out: Path, *, threshold: float = 0.9, threads: int | None = None,
                     step: Step = lambda _: None) -> Summary:
    """Read ``path`` (CSV, UTF-8), find the clusters of records of one person, write ``out``
    (record_id, cluster_id, match_probability). Raises ``InputError`` on a bad file, before
    anything is written."""
    # Identity traits stay in memory: no spilling of intermediate tables to a temp folder.
    config: dict[str, str | bool | int | float | list[str]] = {"temp_directory": ""}
    if threads:
        config["threads"] = threads
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
    term frequencies, which need a whole file). Plain Python: about 50 µs a pair."""
    weight = scalar.weight(scalar.levels(scalar.prepare(a), scalar.prepare(b)), params or Parameters())
    return 1 / (1 + 2 ** -weight)


def blocking_keys(record: Mapping[str, object]) -> list[str]:
    """The blocking keys of one record (``rule:value`` strings): two records are candidates
    when they share one."""
    return scalar.keys(scalar.prepare(record))
