"""Search of the generalisation lattice for the least information loss reaching k (l, t).

Bottom-up (OLA / Flash family): a lower bound per column first (a column alone must already
reach k within the suppression bound, which any combination of columns needs too), then
nodes by increasing height, skipping the generalisations of a node already found to satisfy
(they satisfy too and lose more). Each node is one GROUP BY over the histogram rolled up to
the lower bound, in a local DuckDB.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import duckdb

from esante.datahub.pipeline.errors import PipelineError

Node = tuple[int, ...]


@dataclass(frozen=True)
class Criteria:
    k: int
    l: int | None  # noqa: E741
    t: float | None
    max_suppressed: int  # records


@dataclass
class NodeResult:
    node: Node
    rows: int  # records before suppression
    suppressed: int
    classes: int
    k_reached: int | None
    l_reached: int | None
    t_reached: float | None
    loss_sum: float  # sum over kept records of the QI losses
    journalist_max: float
    column_loss: list[float] = field(default_factory=list)

    def ok(self, c: Criteria) -> bool:
        return self.suppressed <= c.max_suppressed and self.classes > 0

    def information_loss(self, n_qi: int) -> float:
        if not self.rows or not n_qi:
            return 0.0
        return (self.loss_sum + self.suppressed * n_qi) / (self.rows * n_qi)


class Lattice:
    """The histogram ``hist`` (columns ``q{i}_{L}``, ``q{i}_loss{L}``, ``s``, ``n``, ``pop``)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, *, bottom: Node, top: Node, has_s: bool,
                 criteria: Criteria) -> None:
        self.con, self.bottom, self.top, self.has_s, self.c = con, bottom, top, has_s, criteria
        self.evaluated = 0

    def _bad(self) -> str:
        cond = [f"n < {self.c.k}"]
        if self.c.l:
            cond.append(f"ls < {self.c.l}")
        if self.c.t is not None:
            cond.append(f"tc > {self.c.t}")
        return " OR ".join(cond)

    def evaluate(self, node: Node, *, measure_t: bool = False) -> NodeResult:
        self.evaluated += 1
        g = [f"q{i}_{lv}" for i, lv in enumerate(node)]
        gl = ", ".join(g)
        loss = " + ".join(f"q{i}_loss{lv}" for i, lv in enumerate(node)) or "0"
        col_loss = ", ".join(f"sum(n * q{i}_loss{lv}) AS cl{i}" for i, lv in enumerate(node))
        s_stats = "count(DISTINCT s) FILTER (WHERE n > 0) AS ls" if self.has_s else "NULL::BIGINT AS ls"
        with_t = self.has_s and (self.c.t is not None or measure_t)
        tsql = (f", tc AS (SELECT {gl}, 0.5 * (1 + sum(abs(ns / cn - p) - p)) AS tc FROM ("
                f"  SELECT {gl}, s, sum(n)::DOUBLE AS ns, sum(sum(n)) OVER (PARTITION BY {gl})::DOUBLE AS cn"
                f"  FROM hist WHERE n > 0 GROUP BY {gl}, s) JOIN gdist USING (s) GROUP BY {gl})"
                if with_t else "")
        tjoin = f"LEFT JOIN tc USING ({gl})" if with_t and g else ""
        tcol = "tc.tc" if with_t else "NULL::DOUBLE"
        sql = f"""
        WITH gdist AS (SELECT s, sum(n) / (SELECT sum(n) FROM hist)::DOUBLE AS p FROM hist GROUP BY s){tsql},
        c AS (SELECT {gl + ',' if g else ''} sum(n) AS n, sum(pop) AS pop, {s_stats},
                     sum(n * ({loss})) AS lsum {',' + col_loss if col_loss else ''}
              FROM hist GROUP BY {gl or 'ALL'} HAVING sum(n) > 0),
        m AS (SELECT c.*, {tcol} AS tc FROM c {tjoin}),
        b AS (SELECT *, ({self._bad()}) AS bad FROM m)
        SELECT sum(n)::BIGINT, coalesce(sum(n) FILTER (WHERE bad), 0)::BIGINT,
               count(*) FILTER (WHERE NOT bad), min(n) FILTER (WHERE NOT bad), min(ls) FILTER (WHERE NOT bad),
               max(tc) FILTER (WHERE NOT bad), coalesce(sum(lsum) FILTER (WHERE NOT bad), 0),
               coalesce(max(1.0 / pop) FILTER (WHERE NOT bad), 0)
               {''.join(f', coalesce(sum(cl{i}) FILTER (WHERE NOT bad), 0)' for i in range(len(node)))}
        FROM b"""
        row = self.con.execute(sql).fetchall()[0]
        assert row is not None
        return NodeResult(node=node, rows=int(row[0] or 0), suppressed=int(row[1]), classes=int(row[2]),
                          k_reached=row[3], l_reached=row[4], t_reached=row[5], loss_sum=float(row[6]),
                          journalist_max=float(row[7]), column_loss=[float(x) for x in row[8:]])

    def suppressed_classes(self, node: Node) -> str:
        """SQL of the generalised values of the classes the node suppresses (columns g0, g1...)."""
        gl = ", ".join(f"q{i}_{lv}" for i, lv in enumerate(node))
        alias = ", ".join(f"q{i}_{lv} AS g{i}" for i, lv in enumerate(node))
        s_stats = "count(DISTINCT s) FILTER (WHERE n > 0)" if self.has_s else "NULL::BIGINT"
        tsql = (f"LEFT JOIN (SELECT {gl}, 0.5 * (1 + sum(abs(ns / cn - p) - p)) AS tc FROM ("
                f"  SELECT {gl}, s, sum(n)::DOUBLE AS ns, sum(sum(n)) OVER (PARTITION BY {gl})::DOUBLE AS cn"
                f"  FROM hist WHERE n > 0 GROUP BY {gl}, s) JOIN (SELECT s, sum(n) / (SELECT sum(n) FROM hist)"
                f"::DOUBLE AS p FROM hist GROUP BY s) USING (s) GROUP BY {gl}) USING ({gl})"
                if self.has_s and self.c.t is not None else "")
        tcol = "tc" if tsql else "NULL::DOUBLE"
        return (f"SELECT {alias} FROM (SELECT c.*, {tcol} AS tc FROM (SELECT {gl}, sum(n) AS n, {s_stats} AS ls "
                f"FROM hist GROUP BY {gl} HAVING sum(n) > 0) c {tsql}) WHERE {self._bad()}")

    def search(self) -> NodeResult:
        """The satisfying node of least information loss among the minimal ones."""
        ranges = [range(b, t + 1) for b, t in zip(self.bottom, self.top, strict=True)]
        nodes = sorted(itertools.product(*ranges), key=lambda n: (sum(n), n))
        found: list[NodeResult] = []
        n_qi = len(self.bottom)
        for node in nodes:
            if any(all(a >= b for a, b in zip(node, f.node, strict=True)) for f in found):
                continue
            res = self.evaluate(node)
            if res.ok(self.c):
                found.append(res)
        if not found:
            raise PipelineError(
                "aucune généralisation n'atteint les critères dans la limite de suppression "
                f"(k={self.c.k}, l={self.c.l}, t={self.c.t}, au plus {self.c.max_suppressed} lignes supprimées)",
                "no generalisation reaches the criteria within the suppression bound", code="impossible-criteria")
        return min(found, key=lambda r: (r.information_loss(n_qi), sum(r.node), r.node))
