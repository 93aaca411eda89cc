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
from dataclasses import dataclass
from pathlib import Path

import duckdb

from esante.identity.matching.internals import engine, scalar
from esante.identity.matching.internals.engine import Step, Summary
from esante.identity.matching.internals.model import Parameters
from esante.identity.matching.internals.prepare import COLUMNS, InputError, build_records, load_csv

__all__ = ["COLUMNS", "InputError", "Parameters", "Summary", "Verdict", "blocking_keys",
           "deduplicate_file", "judge_pair", "score_pair"]

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


@dataclass(frozen=True)
class Verdict:
    """What the engine says of two records: the match probability, and whether its twins
    rule declares them two people (then the probability is nil, whatever the traits)."""

    probability: float
    twins: bool


def judge_pair(a: Mapping[str, object], b: Mapping[str, object],
               params: Parameters | None = None) -> Verdict:
    """The match probability of two identity records (default parameters; no term
    frequencies, which need a whole file) and the twins rule. Plain Python: ~50 µs a pair."""
    pa, pb = scalar.prepare(a), scalar.prepare(b)
    levels = scalar.levels(pa, pb)
    twins = scalar.twins(levels, pa, pb)
    weight = scalar.weight(levels, params or Parameters(), twins=twins)
    return Verdict(1 / (1 + 2 ** -weight), twins)


def score_pair(a: Mapping[str, object], b: Mapping[str, object], params: Parameters | None = None) -> float:
    """Probability that two identity records are the same person (``judge_pair``)."""
    return judge_pair(a, b, params).probability


def blocking_keys(record: Mapping[str, object]) -> list[str]:
    """The blocking keys of one record (``rule:value`` strings): two records are candidates
    when they share one."""
    return scalar.keys(scalar.prepare(record))
