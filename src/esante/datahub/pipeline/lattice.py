"""Search of the generalisation lattice for the least information loss reaching k (l, t).

A lower level per column first (a column alone must already reach k within the suppression
bound, which any combination of columns needs too: the subset property of Incognito), then
a branch and bound over the remaining nodes in order of a loss lower bound. Each node is
evaluated over the histogram of the data rolled up to those lower levels (built by the
engine, one row per distinct combination), with NumPy; the final node's risk is measured
again on the written file.

On near-unique data (dates to the day × establishment × age × commune) the histogram has
about one row per record, and grouping it for a node costs a pass over millions of rows.
Most low nodes fail, and most of them fail on a pair, a triple... of their columns already:
those subsets are counted first (one ``bincount`` each, cached), which skips the node
without grouping it — exact, since a subset's small classes are suppressed by the node too.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

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


@dataclass
class _Hist:
    """The histogram (or a roll-up of it to ``node``) as NumPy arrays."""

    node: Node
    n: Any
    pop: Any
    s: Any
    code: dict[tuple[int, int], Any]
    loss: dict[tuple[int, int], Any]
    prefix: dict[Node, Any] = field(default_factory=dict)


class Lattice:
    """The histogram ``hist``: per QI and level the value's code ``q{i}_{L}`` and loss ``q{i}_loss{L}``,
    the sensitive value ``s``, the extracted count ``n`` and the population count ``pop``."""

    def __init__(
        self, con: duckdb.DuckDBPyConnection, *, bottom: Node, top: Node, has_s: bool, criteria: Criteria
    ) -> None:
        self.con, self.bottom, self.top, self.has_s, self.c = con, bottom, top, has_s, criteria
        self.evaluated = 0
        self.pair_evaluated = 0
        self._pairs: dict[tuple[tuple[int, int], ...], bool] = {}

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
        tsql = (
            f", tc AS (SELECT {gl}, 0.5 * (1 + sum(abs(ns / cn - p) - p)) AS tc FROM ("
            f"  SELECT {gl}, s, sum(n)::DOUBLE AS ns, sum(sum(n)) OVER (PARTITION BY {gl})::DOUBLE AS cn"
            f"  FROM hist WHERE n > 0 GROUP BY {gl}, s) JOIN gdist USING (s) GROUP BY {gl})"
            if with_t
            else ""
        )
        tjoin = f"LEFT JOIN tc USING ({gl})" if with_t and g else ""
        tcol = "tc.tc" if with_t else "NULL::DOUBLE"
        sql = f"""
        WITH gdist AS (SELECT s, sum(n) / (SELECT sum(n) FROM hist)::DOUBLE AS p FROM hist GROUP BY s){tsql},
        c AS (SELECT {gl + "," if g else ""} sum(n) AS n, sum(pop) AS pop, {s_stats},
                     sum(n * ({loss})) AS lsum {"," + col_loss if col_loss else ""}
              FROM hist GROUP BY {gl or "ALL"} HAVING sum(n) > 0),
        m AS (SELECT c.*, {tcol} AS tc FROM c {tjoin}),
        b AS (SELECT *, ({self._bad()}) AS bad FROM m)
        SELECT sum(n)::BIGINT, coalesce(sum(n) FILTER (WHERE bad), 0)::BIGINT,
               count(*) FILTER (WHERE NOT bad), min(n) FILTER (WHERE NOT bad), min(ls) FILTER (WHERE NOT bad),
               max(tc) FILTER (WHERE NOT bad), coalesce(sum(lsum) FILTER (WHERE NOT bad), 0),
               coalesce(max(1.0 / pop) FILTER (WHERE NOT bad), 0)
               {"".join(f", coalesce(sum(cl{i}) FILTER (WHERE NOT bad), 0)" for i in range(len(node)))}
        FROM b"""
        row = self.con.execute(sql).fetchall()[0]
        assert row is not None
        return NodeResult(
            node=node,
            rows=int(row[0] or 0),
            suppressed=int(row[1]),
            classes=int(row[2]),
            k_reached=row[3],
            l_reached=row[4],
            t_reached=row[5],
            loss_sum=float(row[6]),
            journalist_max=float(row[7]),
            column_loss=[float(x) for x in row[8:]],
        )

    def suppressed_classes(self, node: Node) -> str:
        """SQL of the generalised values of the classes the node suppresses (columns g0, g1...)."""
        gl = ", ".join(f"q{i}_{lv}" for i, lv in enumerate(node))
        alias = ", ".join(f"q{i}_{lv} AS g{i}" for i, lv in enumerate(node))
        s_stats = "count(DISTINCT s) FILTER (WHERE n > 0)" if self.has_s else "NULL::BIGINT"
        tsql = (
            f"LEFT JOIN (SELECT {gl}, 0.5 * (1 + sum(abs(ns / cn - p) - p)) AS tc FROM ("
            f"  SELECT {gl}, s, sum(n)::DOUBLE AS ns, sum(sum(n)) OVER (PARTITION BY {gl})::DOUBLE AS cn"
            f"  FROM hist WHERE n > 0 GROUP BY {gl}, s) JOIN (SELECT s, sum(n) / (SELECT sum(n) FROM hist)"
            f"::DOUBLE AS p FROM hist GROUP BY s) USING (s) GROUP BY {gl}) USING ({gl})"
            if self.has_s and self.c.t is not None
            else ""
        )
        tcol = "tc" if tsql else "NULL::DOUBLE"
        return (
            f"SELECT {alias} FROM (SELECT c.*, {tcol} AS tc FROM (SELECT {gl}, sum(n) AS n, {s_stats} AS ls "
            f"FROM hist GROUP BY {gl} HAVING sum(n) > 0) c {tsql}) WHERE {self._bad()}"
        )

    def _load(self) -> None:
        """The histogram as NumPy arrays: one integer code per column and level, counts, losses."""
        import numpy as np

        cols = [(i, lv) for i in range(len(self.bottom)) for lv in range(self.bottom[i], self.top[i] + 1)]
        names = ", ".join(f"q{i}_{lv}" for i, lv in cols)
        losses = ", ".join(f"q{i}_loss{lv}" for i, lv in cols)
        s_code = "dense_rank() OVER (ORDER BY s)" if self.has_s else "0"
        rows = self.con.sql(f"SELECT n, pop, {s_code} AS s, {names}, {losses} FROM hist").fetchnumpy()
        keys = list(rows)
        base = _Hist(
            node=self.bottom,
            n=np.asarray(rows[keys[0]], dtype=np.float64),
            pop=np.asarray(rows[keys[1]], dtype=np.float64),
            s=np.asarray(rows[keys[2]], dtype=np.int64),
            # codes from the recode tables, -1 for a missing value, shifted to start at 0
            code={c: np.asarray(rows[keys[3 + j]], dtype=np.int64) + 1 for j, c in enumerate(cols)},
            loss={c: np.asarray(rows[keys[3 + len(cols) + j]], dtype=np.float64) for j, c in enumerate(cols)},
        )
        self._card = {c: int(base.code[c].max()) + 1 if len(base.n) else 1 for c in cols}
        self._hists = [base]
        total = base.n.sum()
        self._col_mean = {c: float((base.n * base.loss[c]).sum() / total) if total else 0.0 for c in cols}

    def _source(self, node: Node) -> _Hist:
        """The smallest histogram already rolled up to a node below ``node``."""
        usable = [h for h in self._hists if all(a >= b for a, b in zip(node, h.node, strict=True))]
        return min(usable, key=lambda h: len(h.n))

    def fast_evaluate(self, node: Node, *, final: bool = False) -> NodeResult:
        """One node with NumPy (no t-closeness): class keys, then counts per class."""
        import numpy as np

        self.evaluated += 1
        h = self._source(node)
        inv = self._class_ids(h, node)
        live = h.n > 0
        classes = int(inv.max()) + 1 if len(inv) else 0
        n = np.bincount(inv, weights=h.n, minlength=classes)
        pop = np.bincount(inv, weights=h.pop, minlength=classes)
        bad = n < self.c.k
        ls = None
        width = int(h.s.max()) + 1 if len(h.s) else 1
        if self.has_s:
            pairs = pa.array(inv[live] * width + h.s[live]).unique().to_numpy()
            ls = np.bincount(pairs // width, minlength=classes)
            if self.c.l:
                bad |= ls < self.c.l
        present = n > 0
        good = present & ~bad
        row_good = good[inv]
        if final:
            col_loss = [float((h.n * h.loss[(i, lv)])[row_good].sum()) for i, lv in enumerate(node)]
        else:
            row_loss = sum(h.loss[(i, lv)] for i, lv in enumerate(node))
            col_loss = [float((h.n * row_loss)[row_good].sum())]
            if len(h.n) > 20_000 and classes < len(h.n) // 2 and len(self._hists) < 24:
                self._hists.append(self._roll_up(h, node, inv * width + h.s if self.has_s else inv))
        return NodeResult(
            node=node,
            rows=int(n.sum()),
            suppressed=int(n[present & bad].sum()),
            classes=int(good.sum()),
            k_reached=int(n[good].min()) if good.any() else None,
            l_reached=int(ls[good].min()) if ls is not None and good.any() else None,
            t_reached=None,
            loss_sum=sum(col_loss),
            journalist_max=float((1 / pop[good]).max()) if good.any() else 0.0,
            column_loss=col_loss,
        )

    @staticmethod
    def _roll_up(h: _Hist, node: Node, key: Any) -> _Hist:
        """``h`` grouped by the classes of ``node`` (and the sensitive value): fewer rows, same answers
        for every node above ``node``, since each level is a function of the level below."""
        import numpy as np

        g = pa.array(key).dictionary_encode().indices.to_numpy().astype(np.int64)
        size = int(g.max()) + 1

        row_of = np.empty(size, dtype=np.int64)
        row_of[g] = np.arange(len(g))  # one row of each group: all hold the same codes and losses

        def first(a: Any) -> Any:
            return a[row_of]

        keep = [c for c in h.code if c[1] >= node[c[0]]]
        return _Hist(
            node=node,
            n=np.bincount(g, weights=h.n, minlength=size),
            pop=np.bincount(g, weights=h.pop, minlength=size),
            s=first(h.s),
            code={c: first(h.code[c]) for c in keep},
            loss={c: first(h.loss[c]) for c in keep},
        )

    def _class_ids(self, h: _Hist, node: Node) -> Any:
        """Class id of every row of ``h`` at ``node``; the ids of node prefixes are cached."""
        import numpy as np

        if not node:
            return np.zeros(len(h.n), dtype=np.int64)
        cached = h.prefix.get(node)
        if cached is not None:
            return cached
        head = self._class_ids(h, node[:-1])
        card = self._card[(len(node) - 1, node[-1])]
        ids = head * card + h.code[(len(node) - 1, node[-1])]
        if (int(head.max()) + 1) * card > 4 * len(ids) + 1024:
            # Hash-based grouping (Arrow dictionary encoding) makes the ids dense again: linear, no
            # sort. Sparse ids are kept while their range stays small: bincount copes with gaps.
            ids = pa.array(ids).dictionary_encode().indices.to_numpy().astype(np.int64)
        if len(node) < len(self.bottom):
            h.prefix[node] = ids
        return ids

    def _pair_fails(self, node: Node) -> bool:
        """A necessary condition, much cheaper than the node: the records that a pair (or a
        triple) of columns alone puts in classes under k are suppressed by the node too (each
        of the node's classes lies inside one of the subset's), so a subset over the bound
        rules the node out (Incognito's subset property). Exact: it only skips nodes that
        fail. Subsets are cached; near-unique data fails on them long before the whole node
        needs grouping."""
        if self.c.t is not None or len(node) < 3:
            return False
        # Pairs and triples first (cheap, shared by many nodes), then subsets one column short of
        # the node, shared by the nodes that differ in the column left out.
        for size in range(2, len(node)):
            for cols in itertools.combinations(range(len(node)), size):
                key = tuple((i, node[i]) for i in cols)
                failed = self._pairs.get(key)
                if failed is None:
                    failed = self._pairs[key] = self._subset_suppressed(key) > self.c.max_suppressed
                if failed:
                    return True
        return False

    def _subset_suppressed(self, levels: tuple[tuple[int, int], ...]) -> int:
        import numpy as np

        cells = math.prod(self._card[c] for c in levels)
        if cells >= 2**62:
            return 0  # no conclusion
        usable = [h for h in self._hists if all(h.node[i] <= lv for i, lv in levels)]
        h = min(usable, key=lambda x: len(x.n))
        self.pair_evaluated += 1
        ids = h.code[levels[0]]
        for c in levels[1:]:
            ids = ids * self._card[c] + h.code[c]
        if cells > 4 * len(ids) + 1024:  # sparse: dense ids by hashing (Arrow), as for nodes
            ids = pa.array(ids).dictionary_encode().indices.to_numpy().astype(np.int64)
            cells = int(ids.max()) + 1 if len(ids) else 0
        counts = np.bincount(ids, weights=h.n, minlength=cells)
        return int(counts[(counts > 0) & (counts < self.c.k)].sum())

    def lower_bound(self, node: Node) -> float:
        """Information loss of the node if nothing were suppressed: suppression only adds to it."""
        return sum(self._col_mean[(i, lv)] for i, lv in enumerate(node)) / max(len(node), 1)

    def _chain(self, first: int) -> list[Node]:
        """Bottom to top, raising one column at a time, round-robin from column ``first``."""
        node, chain = list(self.bottom), [tuple(self.bottom)]
        order = [(first + j) % len(node) for j in range(len(node))]
        while tuple(node) != self.top:
            for i in order:
                if node[i] < self.top[i]:
                    node[i] += 1
                    chain.append(tuple(node))
        return chain

    def _probe(self, failed: list[Node]) -> list[NodeResult]:
        """Flash-style binary searches along a few chains (k and l are monotone along a chain):
        each failing node found rules out every node below it, each satisfying one bounds the
        loss; both spare the branch and bound many evaluations of large, low nodes."""
        found = []
        for first in range(len(self.bottom)):
            chain = self._chain(first)
            lo, hi = 0, len(chain) - 1  # hi: a satisfying position (the top), if any
            while lo < hi:
                mid = (lo + hi) // 2
                if any(all(a <= b for a, b in zip(chain[mid], f, strict=True)) for f in failed):
                    lo = mid + 1
                    continue
                if self._pair_fails(chain[mid]):
                    failed.append(chain[mid])
                    lo = mid + 1
                    continue
                res = self.fast_evaluate(chain[mid])
                if res.ok(self.c):
                    found.append(res)
                    hi = mid
                else:
                    failed.append(chain[mid])
                    lo = mid + 1
        return found

    def search(self) -> NodeResult:
        """The satisfying node of least information loss (branch and bound).

        Nodes in increasing order of their loss lower bound (the loss without suppression);
        the search stops when no remaining node can beat the best found. A generalisation of a
        satisfying node is not skipped: it may suppress fewer records and so lose less.
        """
        self._load()
        ranges = [range(b, t + 1) for b, t in zip(self.bottom, self.top, strict=True)]
        bound = {n: self.lower_bound(n) for n in itertools.product(*ranges)}
        nodes = sorted(bound, key=lambda n: (bound[n], sum(n), n))
        n_qi = len(self.bottom)
        failed: list[Node] = []
        done: dict[Node, NodeResult] = {}
        if self.c.t is None:
            done = {r.node: r for r in self._probe(failed)}
        best: NodeResult | None = None
        for node in nodes:
            if best is not None and bound[node] >= best.information_loss(n_qi):
                break
            # Suppression only shrinks as a node is generalised (classes merge, l grows): a node
            # below one that failed fails too. Not so for t-closeness, hence the condition.
            if self.c.t is None and any(all(a <= b for a, b in zip(node, f, strict=True)) for f in failed):
                continue
            if node not in done and self._pair_fails(node):
                failed.append(node)
                continue
            res = done.get(node) or (self.fast_evaluate(node) if self.c.t is None else self.evaluate(node))
            if not res.ok(self.c):
                failed.append(node)
            elif best is None or (res.information_loss(n_qi), sum(res.node)) < (
                best.information_loss(n_qi),
                sum(best.node),
            ):
                best = res
        if best is None:
            raise PipelineError(
                "aucune généralisation n'atteint les critères dans la limite de suppression "
                f"(k={self.c.k}, l={self.c.l}, t={self.c.t}, "
                f"au plus {self.c.max_suppressed} lignes supprimées)",
                "no generalisation reaches the criteria within the suppression bound",
                code="impossible-criteria",
            )
        return best
