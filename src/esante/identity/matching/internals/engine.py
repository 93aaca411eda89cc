"""The batch engine: prepared records → blocked pairs → levels → parameters → scores →
clusters, all in one DuckDB connection."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb
import numpy as np

from esante.identity.matching.internals import clustering
from esante.identity.matching.internals.blocking import build_pairs
from esante.identity.matching.internals.comparisons import (
    COMPARISONS,
    NIR_CONFLICT_RULE,
    TWIN_FIRST_SQL,
    TWIN_RULE,
    levels_sql,
)
from esante.identity.matching.internals.model import Parameters, estimate_m, estimate_share, estimate_u

Step = Callable[[str], None]
RANDOM_PAIRS = 1_000_000
# Below this many compared pairs EM has too little to learn from: the defaults stay.
MIN_PAIRS_FOR_EM = 2_000
# Below this many records, frequencies say little about the population: default u.
MIN_RECORDS_FOR_U = 1_000
_G = ", ".join(f"g_{c.name}" for c in COMPARISONS)


@dataclass
class Summary:
    """What a run found, for the command's last lines and the benchmark."""

    records: int = 0
    pairs: int = 0
    links: int = 0
    clusters: int = 0
    duplicates: int = 0
    split: int = 0
    params: Parameters = field(default_factory=Parameters)


def pair_levels_sql(pairs: str) -> str:
    """Levels and term frequencies of the pairs (l, r) of table ``pairs``."""
    return f"""SELECT p.l, p.r, {levels_sql()}, {TWIN_FIRST_SQL} AS twin_first,
        CASE WHEN a.bn_c = b.bn_c THEN greatest(a.tf_bn, b.tf_bn) END AS tf_bn,
        CASE WHEN a.f1 = b.f1 THEN greatest(a.tf_f1, b.tf_f1) END AS tf_f1
      FROM {pairs} p JOIN rec a ON a.rid = p.l JOIN rec b ON b.rid = p.r"""


def score_sql(params: Parameters, source: str) -> str:
    """Match weight and probability of the pairs of ``source`` (rules overriding the sum)."""
    return f"""SELECT l, r,
        CASE WHEN {TWIN_RULE} OR {NIR_CONFLICT_RULE} THEN -40 ELSE {params.weight_sql()} END AS weight,
        ({TWIN_RULE} OR {NIR_CONFLICT_RULE}) AS cannot_link
      FROM {source}"""


def _estimate_u(con: duckdb.DuckDBPyConnection, n: int, params: Parameters) -> None:
    con.execute("SELECT setseed(0.4242)")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE random_pairs AS
        SELECT l, r FROM (SELECT floor(random() * {n})::BIGINT AS l, floor(random() * {n})::BIGINT AS r
                          FROM range({RANDOM_PAIRS})) WHERE l <> r""")
    rows = con.execute(f"SELECT {_G}, count(*) FROM ({pair_levels_sql('random_pairs')}) GROUP BY ALL"
                       ).fetchall()
    con.execute("DROP TABLE random_pairs")
    observed = {c.name: np.zeros(len(c.levels)) for c in COMPARISONS}
    for row in rows:
        for j, c in enumerate(COMPARISONS):
            if row[j] >= 0:
                observed[c.name][row[j]] += row[-1]
    estimate_u(observed, params)
    # Two different people share a NIR only by mistake: 1 / (number of NIRs) bounds it (random
    # pairs over-count it, as they include the file's own duplicates). Two random people
    # share a birth date with the sum of squared frequencies of the dates.
    (nirs,) = con.execute("SELECT count(DISTINCT nir13) FROM rec").fetchone() or (0,)
    if nirs:
        _set_exact(params, "nir", 1 / nirs, same=3)
    (value,) = con.execute("""SELECT sum(c * c) / (sum(c) * sum(c)) FROM
        (SELECT count(*)::DOUBLE AS c FROM rec WHERE dob IS NOT NULL GROUP BY dob)""").fetchone() or (None,)
    if value:
        _set_exact(params, "birth_date", value, same=1)


def _set_exact(params: Parameters, name: str, value: float, same: int) -> None:
    """Set u of the ``same`` first levels (agreement) to ``value``, the others sharing the rest."""
    others = params.u[name][same:]
    rest = 1 - value * same
    params.u[name] = [value] * same + [u / sum(others) * rest for u in others]


def _estimate_m(con: duckdb.DuckDBPyConnection, params: Parameters, n: int, n_pairs: int) -> None:
    # Pairs that a rule declares distinct are not EM's to learn from: homonyms and twins
    # look like matches on every other trait and would teach it that two reliable NIRs agree.
    rows = con.execute(f"SELECT {_G}, count(*) FROM cmp WHERE NOT ({TWIN_RULE} OR {NIR_CONFLICT_RULE}) "
                       "GROUP BY ALL").fetchall()
    if not rows:
        return
    patterns = np.array([r[:-1] for r in rows], dtype=np.int64)
    counts = np.array([r[-1] for r in rows], dtype=np.float64)
    names = [c.name for c in COMPARISONS]
    if n_pairs >= MIN_PAIRS_FOR_EM:
        same_date = patterns[:, names.index("birth_date")] == 0
        estimate_m(patterns[same_date], counts[same_date], params,
                   ["nir", "birth_name", "first_names", "used_name", "sex", "birth_place"])
        same_names = ((patterns[:, names.index("birth_name")] == 0)
                      & (patterns[:, names.index("first_names")] == 0))
        trained = Parameters(m={k: list(v) for k, v in params.m.items()}, u=params.u)
        estimate_m(patterns[same_names], counts[same_names], trained,
                   ["nir", "birth_date", "used_name", "sex", "birth_place"])
        params.m["birth_date"] = trained.m["birth_date"]
    share = estimate_share(patterns, counts, params)
    total = n * (n - 1) / 2
    params.prior = min(max(share * counts.sum() / total, 1e-12), 0.5)


def run(con: duckdb.DuckDBPyConnection, *, params: Parameters | None = None,
        step: Step = lambda _: None) -> Summary:
    """Deduplicate the ``rec`` table; leaves the ``result`` table (record_id, cluster_id,
    match_probability)."""
    params = params or Parameters()
    (n,) = con.execute("SELECT count(*) FROM rec").fetchone() or (0,)
    summary = Summary(records=n, params=params)
    step("Probabilités u (paires au hasard)")
    if n >= MIN_RECORDS_FOR_U:
        _estimate_u(con, n, params)
    step("Blocage (NIR, date de naissance, codes phonétiques)")
    summary.pairs = build_pairs(con)
    step("Comparaison des paires")
    con.execute(f"CREATE OR REPLACE TEMP TABLE cmp AS {pair_levels_sql('pairs')}")
    con.execute("DROP TABLE pairs")
    step("Estimation des probabilités m (EM)")
    if n > 1:
        _estimate_m(con, params, n, summary.pairs)
    step("Score des paires")
    con.execute(f"CREATE OR REPLACE TEMP TABLE scored AS {score_sql(params, 'cmp')}")
    con.execute("DROP TABLE cmp")
    step("Regroupement")
    _cluster(con, n, params, summary)
    return summary


def _cluster(con: duckdb.DuckDBPyConnection, n: int, params: Parameters, summary: Summary) -> None:
    threshold = math.log2(params.threshold / (1 - params.threshold))
    # Ordered: links of equal weight are then tried in the same order on every run (DuckDB
    # returns rows in whatever order its threads finish).
    links = con.execute(f"SELECT l, r, weight FROM scored WHERE weight >= {threshold} AND NOT cannot_link "
                        "ORDER BY l, r").fetchnumpy()
    cannot = con.execute("SELECT l, r FROM scored WHERE cannot_link").fetchnumpy()
    nir = con.execute("""SELECT CASE WHEN nir_key_ok AND nir_traits_ok
        THEN dense_rank() OVER (ORDER BY nir13) ELSE -1 END AS k FROM rec ORDER BY rid""").fetchnumpy()
    left, right = links["l"].astype(np.int64), links["r"].astype(np.int64)
    weight = links["weight"].astype(np.float64)
    c_left, c_right = cannot["l"].astype(np.int64), cannot["r"].astype(np.int64)
    reliable = nir["k"].astype(np.int64)
    labels = clustering.components(n, left, right)
    flagged = clustering.flagged_components(labels, reliable, c_left, c_right)
    labels = clustering.split_conflicts(labels, flagged, left, right, weight, reliable, c_left, c_right)
    summary.links = len(left)
    summary.split = len(flagged)
    inside = labels[left] == labels[right]
    con.register("labels_view", {"rid": np.arange(n), "label": labels})
    con.register("links_view", {"l": left[inside], "r": right[inside], "weight": weight[inside]})
    con.execute("""CREATE OR REPLACE TEMP TABLE result AS
        WITH strongest AS (
          SELECT rid, max(weight) AS weight FROM (SELECT l AS rid, weight FROM links_view
                                                 UNION ALL SELECT r, weight FROM links_view) GROUP BY rid)
        SELECT rec.record_id, arg_min(rec.record_id, rec.rid) OVER (PARTITION BY lab.label) AS cluster_id,
          round(1 / (1 + pow(2, -s.weight)), 4) AS match_probability, rec.rid
        FROM rec JOIN labels_view lab USING (rid) LEFT JOIN strongest s USING (rid)""")
    con.unregister("labels_view")
    con.unregister("links_view")
    (summary.clusters, summary.duplicates) = con.execute(
        "SELECT count(DISTINCT cluster_id), count(*) - count(DISTINCT cluster_id) FROM result"
    ).fetchone() or (0, 0)
