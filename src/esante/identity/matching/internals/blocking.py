"""Blocking: which pairs are compared at all.

A pair is compared when the two records share at least one key. Keys are built from the
prepared record (``rec``) so that the batch engine and the real-time lookup of a desk use
the same strings. Used names give keys of their own, so that a record typed with the used
name as birth name still meets the record with the true birth name.
"""

from __future__ import annotations

import duckdb

_DATE = "strftime(dob, '%Y%m%d')"
# (rule, SQL expressions giving that rule's keys for one record; NULL parts give no key)
RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("nir", ("nir13",)),
    ("date_prenom", (f"{_DATE} || ' ' || f1_ph",)),
    ("date_lieu", (f"{_DATE} || ' ' || place",)),
    ("date_nom", (f"{_DATE} || ' ' || bn_ph", f"{_DATE} || ' ' || un_ph")),
    ("noms_annee", ("bn_ph || ' ' || f1_ph || ' ' || y", "un_ph || ' ' || f1_ph || ' ' || y")),
    ("noms_lieu", ("bn_ph || ' ' || f1_ph || ' ' || place",)),
)
# A key shared by more records than this is not informative (and quadratic): skipped.
MAX_BLOCK = 1000


def keys_sql(table: str = "rec") -> str:
    """rid and key of every blocking key of every record of ``table``."""
    parts = [f"SELECT rid, '{rule}:' || ({expr}) AS key FROM {table}"
             for rule, exprs in RULES for expr in exprs]
    return "SELECT rid, key FROM (" + " UNION ALL ".join(parts) + ") WHERE key IS NOT NULL"


def build_pairs(con: duckdb.DuckDBPyConnection) -> int:
    """The ``pairs`` table (l < r) of every pair sharing a key; returns its size."""
    # Keys are joined by their 64-bit hash: a collision only adds a pair to compare.
    con.execute(f"CREATE OR REPLACE TEMP TABLE keys AS SELECT rid, hash(key) AS k FROM ({keys_sql()})")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE keys AS SELECT rid, k FROM keys
        WHERE k IN (SELECT k FROM keys GROUP BY k HAVING count(*) BETWEEN 2 AND {MAX_BLOCK})""")
    con.execute("""CREATE OR REPLACE TABLE pairs AS SELECT DISTINCT a.rid AS l, b.rid AS r
        FROM keys a JOIN keys b ON a.k = b.k AND a.rid < b.rid""")
    con.execute("DROP TABLE keys")
    (count,) = con.execute("SELECT count(*) FROM pairs").fetchone() or (0,)
    return int(count)
