"""Search of the generalisation lattice for the least information loss reaching k (l, t).

A lower level per column first (a column alone must already reach k within the suppression
bound, which any combination of columns needs too: the subset property of Incognito), then
a branch and bound over the remaining nodes in order of a loss lower bound. Each node is
evaluated over the histogram of the data rolled up to those lower levels (built by the
engine, one row per distinct combination), with NumPy; the final node's risk is measured
again on the written file.

On near-unique data (dates to the day × establishment × age × commune) the histogram has
about one row per record, and grouping it for a node costs a pass over millions of rows.
The histogram is held as one small integer code per column at its lower level; a node's
codes come from lookup tables (lower-level code → level code), combined into one key in
mixed radix, counted with ``bincount`` where its range is small. Most low nodes fail by
far, and that is proven without grouping them: the key is hashed into buckets and counted;
a bucket holds whole classes, so a bucket under k holds only classes under k, and the rows
of such buckets are a *lower bound* of the suppressed rows. The histogram is also ordered
by its columns' coarsest groups (region, age band, year): for a node under ``*`` on those
columns no class crosses a group, so the bound is summed group by group and the node given
up as soon as it passes the suppression bound — after a tenth of the rows for most. Only
nodes that may satisfy the criteria are grouped exactly (Arrow's hash encoding). Exact
throughout: the bound only rules out nodes that fail, or that cannot beat the best loss.
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
    """The histogram (or a roll-up of it to ``node``): per column the code of the value at the
    node's level (0 for a missing value), the extracted and population counts, the sensitive code."""

    node: Node
    n: Any
    pop: Any
    s: Any
    code: list[Any]


_GOLDEN = 0x9E3779B97F4A7C15  # Fibonacci hashing multiplier (2^64 / golden ratio)
_DIRECT_MAX = 1 << 25  # a key range counted directly with bincount (256 MiB of float64 at most)


def _dense(ids: Any, cells: int) -> tuple[Any, int]:
    """Ids made dense (0..m-1), keeping their equality: a bincount where the range is small,
    Arrow's hash-based dictionary encoding (linear, no sort) where it is not."""
    import numpy as np

    if cells <= max(4 * len(ids), 1 << 16) and cells <= _DIRECT_MAX:
        present = np.bincount(ids, minlength=cells) > 0
        remap = np.cumsum(present) - 1
        return remap[ids], int(present.sum())
    enc = pa.array(ids).dictionary_encode()
    return enc.indices.to_numpy().astype(np.int64), len(enc.dictionary)


class Lattice:
    """The histogram ``histb`` (bottom codes ``b{i}``, sensitive value ``s``, extracted count
    ``n``, population count ``pop``), the lookup tables ``lmap{i}`` (bottom code ``b`` → code
    ``q{lv}`` and loss ``l{lv}`` at each level) and, for the SQL path (t-closeness), the view
    ``hist`` with every level's code ``q{i}_{L}`` and loss ``q{i}_loss{L}``."""

    def __init__(
        self, con: duckdb.DuckDBPyConnection, *, bottom: Node, top: Node, has_s: bool, criteria: Criteria
    ) -> None:
        self.con, self.bottom, self.top, self.has_s, self.c = con, bottom, top, has_s, criteria
        self.evaluated = 0  # nodes counted (exactly or by their bound)
        self.grouped = 0  # nodes grouped exactly
        self._final: tuple[_Hist, Any, Any, Node] | None = None
        self.floor_node: Node | None = None

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
        """The histogram as NumPy arrays (bottom codes, counts) and the small lookup tables."""
        import numpy as np

        m = len(self.bottom)
        # Only what the search reads: the population count where someone opted out, the
        # sensitive value where there is one (memory: 100 M rows of histogram here and there).
        opted = self.con.sql("SELECT count(*) FROM histb WHERE n <> pop").fetchall()[0][0] > 0
        cols = ["n", *(["pop"] if opted else [])]
        cols += ["dense_rank() OVER (ORDER BY s) AS s"] if self.has_s else []
        rows = self.con.sql(f"SELECT {', '.join(cols)}, {', '.join(f'b{i}' for i in range(m))} FROM histb")
        got = rows.fetchnumpy()
        del rows
        n = np.asarray(got.pop("n"), dtype=np.float64)
        base = _Hist(
            node=self.bottom,
            n=n,
            pop=np.asarray(got.pop("pop"), dtype=np.float64) if opted else n,
            s=np.asarray(got.pop("s"), dtype=np.int32) if self.has_s else np.zeros(len(n), dtype=np.int8),
            code=[np.asarray(got.pop(f"b{i}"), dtype=np.int32) for i in range(m)],
        )
        del got
        self._map: dict[tuple[int, int], Any] = {}  # bottom code -> level code
        self._lossv: dict[tuple[int, int], Any] = {}  # level code -> loss
        self._card: dict[tuple[int, int], int] = {}
        self._up: dict[tuple[int, int, int], Any] = {}
        self._col_mean: dict[tuple[int, int], float] = {}
        total = float(base.n.sum())
        for i in range(m):
            levels = range(self.bottom[i], self.top[i] + 1)
            lm = self.con.sql(f"SELECT * FROM lmap{i}").fetchnumpy()
            b = np.asarray(lm["b"], dtype=np.int64)
            width = int(b.max()) + 1
            per_bottom = np.bincount(base.code[i], weights=base.n, minlength=width)
            for lv in levels:
                q = np.asarray(lm[f"q{lv}"], dtype=np.int64)
                card = int(q.max()) + 1
                to_level = np.zeros(width, dtype=np.int32)
                to_level[b] = q
                loss = np.zeros(card, dtype=np.float64)
                loss[q] = np.asarray(lm[f"l{lv}"], dtype=np.float64)
                self._map[(i, lv)], self._lossv[(i, lv)], self._card[(i, lv)] = to_level, loss, card
                self._col_mean[(i, lv)] = float((per_bottom * loss[to_level]).sum() / total) if total else 0.0
        self._hists = [self._sorted(base)]
        self._total = total
        self._pop_is_n = self._hists[0].pop is self._hists[0].n

    def _sorted(self, base: _Hist) -> _Hist:
        """The base histogram ordered by its columns' coarsest groups (region, age band, year...),
        with cut points between groups: for a node that keeps those columns under ``*``, each
        slice between cuts holds whole classes, so small classes can be counted slice by slice
        and a failing node given up after a few slices (``_slice_bound``)."""
        import numpy as np

        self._sort_cols: list[tuple[int, int]] = []
        self._cuts: list[list[int]] = []
        if len(base.n) < 200_000:
            return base
        cols = []
        for i in range(len(self.bottom)):
            lv = self.top[i] - 1
            if lv >= self.bottom[i] and self._card[(i, lv)] > 2:
                cols.append((self._card[(i, lv)], i, lv))
        cols.sort(reverse=True)
        comp = np.zeros(len(base.n), dtype=np.int64)
        for card, i, lv in cols:
            if len(self._sort_cols) == 3:
                break
            comp = comp * card + self._map[(i, lv)][base.code[i]]
            self._sort_cols.append((i, lv))
        if not self._sort_cols:
            return base
        small_int = np.int16 if int(comp.max()) < 2**15 else np.int64
        order = np.argsort(comp.astype(small_int), kind="stable")  # a radix sort on 16 bits
        comp = comp[order]
        # One array at a time, each original dropped as its sorted copy is made.
        pop_is_n = base.pop is base.n
        base.n = base.n[order]
        base.pop = base.n if pop_is_n else base.pop[order]
        base.s = base.s[order]
        for i in range(len(base.code)):
            base.code[i] = base.code[i][order]
        sorted_base = base
        del order
        radix = [self._card[c] for c in self._sort_cols]
        target = max(len(comp) // 10, 1)
        for j in range(1, len(radix) + 1):
            step = math.prod(radix[j:])
            change = np.searchsorted(comp, np.arange(1, math.prod(radix[:j])) * step)  # comp is sorted
            cuts = [0]
            for c in np.unique(change).tolist():
                if c - cuts[-1] >= target and c < len(comp):
                    cuts.append(c)
            cuts.append(len(comp))
            self._cuts.append(cuts)
        return sorted_base

    def _slice_bound(self, h: _Hist, node: Node) -> tuple[Any, float] | None:
        """The key of every row of the base histogram, built slice by slice with, per slice, the
        rows of its buckets under k (a lower bound of its suppressed rows, classes never crossing
        slices): returns ``None`` as soon as the sum passes the suppression bound (the node
        fails), else the key and that lower bound."""
        import numpy as np

        j = 0
        while j < len(self._sort_cols) and node[self._sort_cols[j][0]] <= self._sort_cols[j][1]:
            j += 1
        cuts = self._cuts[j - 1] if j else [0, len(h.n)]
        keys, low = [], 0.0
        for a, z in itertools.pairwise(cuts):
            part = _Hist(h.node, h.n[a:z], h.pop[a:z], h.s[a:z], [c[a:z] for c in h.code])
            key, cells = self._key(part, list(enumerate(node)))
            cnt = self._buckets(part, key, cells)
            low += float(cnt[(cnt > 0) & (cnt < self.c.k)].sum())
            if low > self.c.max_suppressed:
                return None
            keys.append(key)
        return (np.concatenate(keys) if len(keys) > 1 else keys[0]), low

    def _up_map(self, i: int, a: int, b: int) -> Any:
        """Column ``i``'s codes at level ``a`` → its codes at level ``b`` (b ≥ a: a function)."""
        import numpy as np

        m = self._up.get((i, a, b))
        if m is None:
            m = np.zeros(self._card[(i, a)], dtype=np.int32)
            m[self._map[(i, a)]] = self._map[(i, b)]
            self._up[(i, a, b)] = m
        return m

    def _codes(self, h: _Hist, i: int, lv: int) -> Any:
        a = h.node[i]
        return h.code[i] if a == lv else self._up_map(i, a, lv)[h.code[i]]

    def _key(self, h: _Hist, levels: list[tuple[int, int]]) -> tuple[Any, int]:
        """One integer per row of ``h``: its class at these levels in mixed radix (an exact key),
        and the key's range. A range past 2**62 is made dense first, so the key stays exact."""
        import numpy as np

        key, cells = np.zeros(len(h.n), dtype=np.int64), 1
        for i, lv in levels:
            card = self._card[(i, lv)]
            if card == 1:
                continue
            if cells * card >= 2**62:
                key, cells = _dense(key, cells)
            key = key * card + self._codes(h, i, lv) if cells > 1 else self._codes(h, i, lv).astype(np.int64)
            cells *= card
        return key, cells

    def _failed(self, node: Node, suppressed_at_least: int) -> NodeResult:
        """A node proven to fail without grouping it: no class kept, a lower bound of its suppression."""
        return NodeResult(node, int(self._total), suppressed_at_least, 0, None, None, None, 0.0, 0.0, [0.0])

    def _buckets(self, h: _Hist, key: Any, cells: int) -> Any:
        """The extracted count of each bucket of rows (buckets: a hash of the exact key, or the key
        itself if its range is that small). A bucket holds whole classes."""
        import numpy as np

        # About as many buckets as rows (at most 2**23, 64 MiB): enough to prove the failures
        # by far that most low nodes are, and cheap to count.
        bits = min(max(len(key).bit_length(), 10), 23)
        if cells <= 1 << bits:
            return np.bincount(key, weights=h.n, minlength=cells)
        b = ((key.view(np.uint64) * np.uint64(_GOLDEN)) >> np.uint64(64 - bits)).astype(np.intp)
        return np.bincount(b, weights=h.n, minlength=1 << bits)

    def _source(self, node: Node) -> _Hist:
        """The smallest histogram already rolled up to a node below ``node``."""
        usable = [h for h in self._hists if all(a >= b for a, b in zip(node, h.node, strict=True))]
        return min(usable, key=lambda h: len(h.n))

    def fast_evaluate(
        self, node: Node, *, final: bool = False, bound: float | None = None
    ) -> NodeResult | None:
        """One node with NumPy (no t-closeness). Returns ``None`` when the node is proven unable to
        reach a loss under ``bound`` (it may satisfy the criteria: not a failure). A node proven to
        fail by its buckets comes back with ``classes = 0`` and a lower bound of its suppression."""
        import numpy as np

        self.evaluated += 1
        h = self._source(node)
        cells = math.prod(self._card[(i, lv)] for i, lv in enumerate(node))
        n_qi = len(node)
        # Slices where the node may fail: a key range under a quarter of the rows makes large
        # classes, and such a node is counted at once.
        sliced_base = h is self._hists[0] and bool(self._cuts) and len(h.n) // 4 < cells < 2**62
        if not final and (sliced_base or not (cells <= max(4 * len(h.n), 1 << 16) and cells <= _DIRECT_MAX)):
            if sliced_base:
                sliced = self._slice_bound(h, node)
                if sliced is None:
                    return self._failed(node, self.c.max_suppressed + 1)
                key, low = sliced
            else:
                key, cells = self._key(h, list(enumerate(node)))
                cnt = self._buckets(h, key, cells)
                low = float(cnt[(cnt > 0) & (cnt < self.c.k)].sum())
                del cnt
                if low > self.c.max_suppressed:
                    return self._failed(node, int(low))
            if bound is not None:
                # Each suppressed row adds (QIs − its own loss) to the loss without suppression.
                most = sum(float(self._lossv[(i, lv)].max()) for i, lv in enumerate(node))
                least = self.lower_bound(node) * n_qi * self._total + low * (n_qi - most)
                if least / max(self._total * n_qi, 1) > bound * (1 + 1e-9) + 1e-12:
                    return None  # cannot beat the best found (it may still satisfy the criteria)
        else:
            key, cells = self._key(h, list(enumerate(node)))
        self.grouped += 1
        if cells <= len(h.n):  # the key itself as class ids (absent classes count 0 rows)
            inv, classes = key, cells
        else:
            inv, classes = _dense(key, cells)
        del key
        n = np.bincount(inv, weights=h.n, minlength=classes)
        pop = n if self._pop_is_n else np.bincount(inv, weights=h.pop, minlength=classes)
        # One row of each class: all its rows hold the same codes, so the class's codes and losses
        # are read there (arrays as long as the classes, not the rows).
        row_of = np.zeros(classes, dtype=np.int64)
        row_of[inv] = np.arange(len(inv))
        codes = [
            h.code[i][row_of] if h.node[i] == lv else self._up_map(i, h.node[i], lv)[h.code[i][row_of]]
            for i, lv in enumerate(node)
        ]
        bad = n < self.c.k
        ls = None
        width = int(h.s.max()) + 1 if len(h.s) else 1
        if self.has_s:
            live = h.n > 0
            pairs = pa.array(inv[live] * width + h.s[live]).unique().to_numpy()
            ls = np.bincount(pairs // width, minlength=classes)
            if self.c.l:
                bad |= ls < self.c.l
        present = n > 0
        good = present & ~bad
        class_loss = [self._lossv[(i, lv)][codes[i]] for i, lv in enumerate(node)]
        if final:
            col_loss = [float((n * cl)[good].sum()) for cl in class_loss]
            self._final = (h, inv, present & bad, node)
        else:
            col_loss = [float((n * sum(class_loss))[good].sum())]
            held = sum(len(x.n) for x in self._hists[1:]) + classes  # roll-ups: at most twice the base
            if len(h.n) > 20_000 and classes < len(h.n) // 2 and held < 2 * len(self._hists[0].n):
                if self.has_s:
                    self._hists.append(self._roll_up(h, node, inv * width + h.s))
                else:
                    self._hists.append(_Hist(node=node, n=n, pop=pop, s=h.s[row_of], code=codes))
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

    def suppressed_keys(self, cards: list[int]) -> pa.Table:
        """The classes the last ``final`` evaluation suppresses, as the write's keys: the codes of
        their values (0 for a missing one) in mixed radix over ``cards``."""
        import numpy as np

        assert self._final is not None
        h, inv, bad, node = self._final
        rows = bad[inv]
        key = np.zeros(int(rows.sum()), dtype=np.int64)
        for (i, lv), card in zip(enumerate(node), cards, strict=True):
            key = key * card + self._codes(h, i, lv)[rows]
        return pa.table({"k": pa.array(np.unique(key))})

    def _roll_up(self, h: _Hist, node: Node, key: Any) -> _Hist:
        """``h`` grouped by the classes of ``node`` (and the sensitive value): fewer rows, same answers
        for every node above ``node``, since each level is a function of the level below."""
        import numpy as np

        g, size = _dense(key, int(key.max()) + 1 if len(key) else 0)
        row_of = np.empty(size, dtype=np.int64)
        row_of[g] = np.arange(len(g))  # one row of each group: all hold the same codes
        return _Hist(
            node=node,
            n=np.bincount(g, weights=h.n, minlength=size),
            pop=np.bincount(g, weights=h.pop, minlength=size),
            s=h.s[row_of],
            code=[self._codes(h, i, lv)[row_of] for i, lv in enumerate(node)],
        )

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
                res = self.fast_evaluate(chain[mid])
                assert res is not None
                if res.ok(self.c):
                    found.append(res)
                    hi = mid
                else:
                    failed.append(chain[mid])
                    lo = mid + 1
        return found

    def floor(self, nodes: list[Node], bound: dict[Node, float], done: dict[Node, NodeResult],
              failed: list[Node]) -> Node | None:
        """The least node under every node the branch and bound may still evaluate: those whose
        loss bound does not exceed the best loss found by the probes and that lie below no
        failed node (those fail too). Each column's lowest level among them."""
        n_qi = len(self.bottom)
        found = [r.information_loss(n_qi) for r in done.values() if r.ok(self.c)]
        if not found:
            return None
        best = min(found)
        left = [
            n for n in nodes
            if bound[n] <= best and not any(all(a <= b for a, b in zip(n, f, strict=True)) for f in failed)
        ]
        if not left:
            return None
        return tuple(min(n[i] for n in left) for i in range(n_qi))

    def _roll_up_to_floor(self, nodes: list[Node], bound: dict[Node, float], done: dict[Node, NodeResult],
                          failed: list[Node]) -> None:
        """The histogram rolled up once to the floor (see ``floor``): every node left is evaluated
        on it, or on a smaller roll-up. Worth it where the floor is above the lower levels."""
        floor = self.floor(nodes, bound, done, failed)
        self.floor_node = floor
        if floor is None or floor == self.bottom:
            return
        h = self._source(floor)
        if h.node == floor:
            return
        key, cells = self._key(h, list(enumerate(floor)))
        if self.has_s:
            key, cells = _dense(key, cells)
            key = key * (int(h.s.max()) + 1) + h.s
        rolled = self._roll_up(h, floor, key)
        if len(rolled.n) < len(h.n) * 0.9:
            self._hists.append(rolled)

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
            self._roll_up_to_floor(nodes, bound, done, failed)
        best: NodeResult | None = None
        for node in nodes:
            if best is not None and bound[node] >= best.information_loss(n_qi):
                break
            # Suppression only shrinks as a node is generalised (classes merge, l grows): a node
            # below one that failed fails too. Not so for t-closeness, hence the condition.
            if self.c.t is None and any(all(a <= b for a, b in zip(node, f, strict=True)) for f in failed):
                continue
            if node in done:
                res: NodeResult | None = done[node]
            elif self.c.t is None:
                res = self.fast_evaluate(node, bound=best.information_loss(n_qi) if best else None)
            else:
                res = self.evaluate(node)
            if res is None:  # proven unable to beat the best: not a failure, nothing below is ruled out
                continue
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
