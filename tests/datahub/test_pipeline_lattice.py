"""The lattice search's floors and bounds, against brute force over the whole lattice.

Per column, the lower level is the least at which the column alone stays within the
suppression bound (every satisfying node is above it: a node's classes lie inside the
column's); after the probes, the floor is the least node under every node the branch and
bound may still evaluate. Both only restrict where to look: the chosen node and its loss
must be those of the exhaustive search.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from esante.datahub.pipeline import run_extract, sample
from esante.datahub.pipeline.engines import DuckDBEngine
from esante.datahub.pipeline.extract import _histogram, _plan, _prepare_lattice
from esante.datahub.pipeline.hierarchy import max_level, recode_table
from esante.datahub.pipeline.lattice import Criteria, Lattice, NodeResult
from esante.datahub.pipeline.spec import ExtractSpec
from tests.datahub.pipeline_data import COMMUNES, ROWS, people_file

QIS = ["age", "sexe", "commune", "diplome", "situation", "profession"]
KEY = bytes(range(32))


@pytest.fixture(scope="module")
def people(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return people_file(tmp_path_factory.mktemp("in"))


def _brute_force(people: Path, spec: ExtractSpec) -> dict[tuple[int, ...], tuple[int, float]]:
    """Every node: (suppressed rows, information loss), measured directly with DuckDB."""
    cols = spec.tables["personnes"].columns
    con = duckdb.connect()
    con.execute(f"CREATE TABLE p AS SELECT * FROM read_parquet('{people}')")
    for i, q in enumerate(QIS):
        values = con.sql(f"SELECT DISTINCT {q} AS v FROM p").to_arrow_table().column("v").combine_chunks()
        con.register(f"r{i}", recode_table(con, q, cols[q].hierarchy, values))
    n = con.sql("SELECT count(*) FROM p").fetchall()[0][0]
    joins = " ".join(f"JOIN r{i} ON p.{q} = r{i}.v" for i, q in enumerate(QIS))
    out = {}
    for node in itertools.product(*(range(max_level(cols[q].hierarchy) + 1) for q in QIS)):
        g = ", ".join(f"r{i}.g{lv}" for i, lv in enumerate(node))
        loss = " + ".join(f"r{i}.loss{lv}" for i, lv in enumerate(node))
        sup, kept_loss = con.sql(
            f"SELECT coalesce(sum(c) FILTER (WHERE c < {spec.k}), 0), "
            f"coalesce(sum(l) FILTER (WHERE c >= {spec.k}), 0) FROM "
            f"(SELECT count(*) AS c, sum({loss}) AS l FROM p {joins} GROUP BY {g})"
        ).fetchall()[0]
        out[node] = (int(sup), (kept_loss + sup * len(QIS)) / (n * len(QIS)))
    return out


def _lattice(spec: ExtractSpec):  # type: ignore[no-untyped-def]
    eng = DuckDBEngine()
    eng.register_arrow("optout", pa.table({"pid": pa.array([], pa.string())}))
    p = _plan(spec, "personnes", spec.tables["personnes"])
    eng.register_parquet("in_p", p.spec.path, [spec.person_id_column, *p.qis, *p.kept])
    _histogram(eng, eng.con, p, "in_p", "CAST(\"person_id\" AS STRING) IN (SELECT pid FROM optout)")
    rows = eng.con.execute("SELECT sum(n) FROM hist0").fetchall()[0][0]
    return _prepare_lattice(eng.con, spec, p, int(rows))[0]


def test_column_floors_and_search_floor_keep_the_exhaustive_optimum(people: Path, tmp_path: Path) -> None:
    # k = 20 and 2 % of suppression: communes and ages at the tails are too rare alone, so the
    # lower levels of those columns are above their exact values.
    spec = sample.people_spec(people, k=20, max_suppression=0.02, communes=COMMUNES)
    every = _brute_force(people, spec)
    limit = int(0.02 * ROWS)
    satisfying = {node: il for node, (sup, il) in every.items() if sup <= limit}
    best_il = min(satisfying.values())

    lattice = _lattice(spec)
    assert any(lattice.bottom), "the data must put a column's floor above its exact values"
    # No satisfying node lies under a column's floor.
    for node in satisfying:
        assert all(a >= b for a, b in zip(node, lattice.bottom, strict=True)), node
    # A column one level below its floor fails alone (the floor is the least level that holds).
    for i, b in enumerate(lattice.bottom):
        if b:
            alone = tuple(b - 1 if j == i else max_level(spec.tables["personnes"].columns[q].hierarchy)
                          for j, q in enumerate(QIS))
            assert every[alone][0] > limit

    best = lattice.search()
    assert best.information_loss(len(QIS)) == pytest.approx(best_il, abs=1e-9)
    assert every[best.node][1] == pytest.approx(best_il, abs=1e-9)
    floor = lattice.floor_node
    assert floor is not None
    # Every node that could beat the probes' best is above the floor the search rolled up to.
    for node, il in satisfying.items():
        if il <= best_il + 1e-12:
            assert all(a >= b for a, b in zip(node, floor, strict=True)), (node, floor)

    report = run_extract(spec, out_dir=tmp_path / "x", key=KEY).tables[0]
    assert report.information_loss == pytest.approx(best_il, abs=1e-6)
    assert report.rows_suppressed == every[best.node][0]


def test_floor_is_the_least_node_under_the_nodes_left() -> None:
    lattice = Lattice(
        duckdb.connect(), bottom=(0, 0), top=(2, 2), has_s=False,
        criteria=Criteria(k=5, l=None, t=None, max_suppressed=1),
    )
    nodes = [(0, 0), (1, 0), (0, 1), (1, 1), (2, 1), (2, 2)]
    bound = {(0, 0): 0.0, (1, 0): 0.1, (0, 1): 0.2, (1, 1): 0.3, (2, 1): 0.4, (2, 2): 0.9}
    # (2, 1) satisfies the criteria with a loss of 0.3: 6 / (10 rows × 2 columns)
    found = NodeResult((2, 1), rows=10, suppressed=0, classes=2, k_reached=5, l_reached=None,
                       t_reached=None, loss_sum=6.0, journalist_max=0.2)
    done = {(2, 1): found}
    # Left: loss bound ≤ 0.3 and not under the failed (1, 0), i.e. (0, 1) and (1, 1).
    assert lattice.floor(nodes, bound, done, failed=[(1, 0)]) == (0, 1)
    assert lattice.floor(nodes, bound, done, failed=[(1, 1)]) is None
    assert lattice.floor(nodes, bound, done, failed=[]) == (0, 0)
    assert lattice.floor(nodes, bound, {}, failed=[]) is None  # nothing found yet: no floor
