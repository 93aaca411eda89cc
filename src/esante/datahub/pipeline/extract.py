"""``run_extract``: the whole extract, written to a temporary directory renamed at the end."""

from __future__ import annotations

import json
import math
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from esante.datahub.pipeline.engines import DuckDBEngine, EngineName, SparkEngine, load_arrow, open_engine
from esante.datahub.pipeline.errors import PipelineError
from esante.datahub.pipeline.hierarchy import max_level, recode_table
from esante.datahub.pipeline.lattice import Criteria, Lattice, NodeResult
from esante.datahub.pipeline.spec import (
    ColumnReport,
    DateHierarchy,
    ExtractReport,
    ExtractSpec,
    Sensitivity,
    TableReport,
    TableSpec,
)
from esante.datahub.pipeline.ttp import date_shift_key, key_fingerprint

Progress = Callable[[str], None]
PSEUDONYM = "pseudonym"


def _noop(_: str) -> None:
    return None


@dataclass
class _Plan:
    """One table's columns by role."""

    name: str
    spec: TableSpec
    qis: list[str]
    sensitive: str | None
    kept: list[str]  # sensitive and other columns, output as they are
    free_text: list[str]


def _plan(spec: ExtractSpec, name: str, table: TableSpec) -> _Plan:
    qis = [c for c, cs in table.columns.items() if cs.sensitivity is Sensitivity.quasi_identifier]
    kept = [
        c
        for c, cs in table.columns.items()
        if cs.sensitivity in (Sensitivity.sensitive, Sensitivity.other) and c != spec.person_id_column
    ]
    # l and t apply to the tables holding the sensitive column (run_extract checks that one does)
    sensitive = spec.sensitive_column if spec.sensitive_column in table.columns else None
    free = [c for c in kept if table.columns[c].free_text]
    return _Plan(name, table, qis, sensitive, kept, free)


def run_extract(
    spec: ExtractSpec, *, engine: EngineName = "duckdb", out_dir: Path, key: bytes, progress: Progress = _noop
) -> ExtractReport:
    """Pseudonymise (HMAC-SHA-256 with the project ``key``), generalise to reach k/l/t, write Parquet.

    ``key`` comes from the trusted third party (``esante.datahub.pipeline.ttp.project_key``);
    ``out_dir`` must not exist yet: it appears complete or not at all.
    """
    if len(key) < 32:
        raise PipelineError("clé de projet trop courte (32 octets attendus)", "project key too short")
    out_dir = Path(out_dir)
    if out_dir.exists():
        raise PipelineError(
            f"le dossier de sortie existe déjà : {out_dir}", f"output exists: {out_dir}", code="output-exists"
        )
    plans = [_plan(spec, name, t) for name, t in spec.tables.items()]
    if (spec.l or spec.t) and not any(p.sensitive for p in plans):
        raise PipelineError(
            f"la colonne sensible {spec.sensitive_column} n'est demandée dans aucune table",
            f"the sensitive column {spec.sensitive_column} is in no table",
            code="unknown-column",
        )
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.tmp-"))
    started = time.perf_counter()
    eng = open_engine(engine)
    try:
        eng.register_arrow("optout", pa.table({"pid": pa.array(sorted(spec.opted_out), pa.string())}))
        reports = [_extract_table(eng, spec, p, key, tmp, progress) for p in plans]
        report = ExtractReport(
            project_id=spec.project_id,
            engine=engine,
            key_fingerprint=key_fingerprint(key),
            opted_out_people=len(spec.opted_out),
            tables=reports,
            out_dir=out_dir,
            seconds=round(time.perf_counter() - started, 3),
        )
        (tmp / "report.json").write_text(report.model_dump_json(indent=2), encoding="utf-8")
        from esante.datahub.pipeline.report import write_html, write_pdf

        write_html(report, tmp / "report.html")
        write_pdf(report, tmp / "report.pdf")
        tmp.rename(out_dir)
        return report
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        eng.close()


def _local(eng: DuckDBEngine | SparkEngine) -> duckdb.DuckDBPyConnection:
    return eng.con if isinstance(eng, DuckDBEngine) else duckdb.connect(":memory:")


def _extract_table(
    eng: DuckDBEngine | SparkEngine, spec: ExtractSpec, p: _Plan, key: bytes, tmp: Path, progress: Progress
) -> TableReport:
    _q = eng.dialect.ident
    pid = spec.person_id_column
    view = f"in_{p.name}"
    eng.register_parquet(view, p.spec.path, [pid, *p.qis, *p.kept])
    if _shifted(p):
        view = _shift_dates(eng, spec, p, view, key)
    # Nobody opted out: no per-row lookup (a string cast of every identifier) for nothing.
    opted = f"CAST({_q(pid)} AS STRING) IN (SELECT pid FROM optout)" if spec.opted_out else "FALSE"
    local = _local(eng)
    chosen: NodeResult | None = None
    lattice: Lattice | None = None
    uniques = 0
    if p.qis:
        # The histogram holds the counts too: one pass over the table, not two.
        progress(f"{p.name} : histogramme des quasi-identifiants")
        _histogram(eng, local, p, view, opted)
        counts = local.execute(
            "SELECT coalesce(sum(n), 0), coalesce(sum(n) FILTER (WHERE opted), 0) FROM hist0"
        )
        rows_in, rows_opted = (int(x) for x in counts.fetchall()[0])
        lattice, uniques = _prepare_lattice(local, spec, p, rows_in - rows_opted)
        local.execute("DROP TABLE hist0; DROP TABLE colall")  # the search reads histb only
        progress(f"{p.name} : recherche de la généralisation minimale")
        best = lattice.search()
        chosen = lattice.fast_evaluate(best.node, final=True)
        assert chosen is not None
    else:
        progress(f"{p.name} : comptage")
        counts = eng.query(
            f"SELECT count(*) AS n, coalesce(sum(CASE WHEN {opted} THEN 1 ELSE 0 END), 0) AS o FROM {view}"
        ).to_pylist()[0]
        rows_in, rows_opted = int(counts["n"]), int(counts["o"])
    progress(f"{p.name} : pseudonymisation et écriture")
    sql = _final_sql(eng, local, p, pid, view, opted, key, lattice, chosen)
    out = tmp / f"{p.name}.parquet"
    rows_out = eng.write_parquet(sql, out)
    suppressed = chosen.suppressed if chosen else 0
    if rows_out != rows_in - rows_opted - suppressed:
        raise PipelineError(
            f"{p.name} : {rows_out} lignes écrites, {rows_in - rows_opted - suppressed} attendues",
            code="inconsistent-output",
        )
    if chosen is not None:
        # The released file measured as it is, independently of the search's own bookkeeping.
        from esante.datahub.pipeline.risk import measure_parquet

        m = measure_parquet(out, qis=p.qis, sensitive=p.sensitive, k_threshold=spec.k)
        chosen.k_reached, chosen.l_reached, chosen.t_reached = m.k, m.l, m.t
        if m.classes != chosen.classes or m.records_at_risk:
            raise PipelineError(
                f"{p.name} : la mesure du fichier écrit contredit la recherche", code="inconsistent-output"
            )
        t_missed = p.sensitive and spec.t is not None and m.t is not None and m.t > spec.t + 1e-9
        if (p.sensitive and spec.l and (m.l or 0) < spec.l) or t_missed:
            # t is searched against the distribution before suppression; the file decides.
            raise PipelineError(
                f"{p.name} : l={m.l}, t={m.t} mesurés sur le fichier, l={spec.l}, t={spec.t} exigés ; "
                "augmenter la suppression permise ou revoir les critères",
                code="criteria-not-met",
            )
    if p.free_text:
        progress(f"{p.name} : désidentification du texte libre")
        from esante.datahub.pipeline.freetext import deidentify_parquet_columns

        deidentify_parquet_columns(out, p.free_text)
    return _table_report(spec, p, out, rows_in, rows_opted, rows_out, uniques, lattice, chosen)


def _shifted(p: _Plan) -> list[str]:
    return [c for c in p.qis if isinstance(h := p.spec.columns[c].hierarchy, DateHierarchy) and h.shift]


def _shift_dates(eng: DuckDBEngine | SparkEngine, spec: ExtractSpec, p: _Plan, view: str, key: bytes) -> str:
    """A view of the table whose shifted date columns moved by the person's own number of days:
    ``d`` in ±1..±B from HMAC-SHA-256(date-shift key, person id), the same SQL on both engines."""
    d, b = eng.dialect, spec.date_shift_max_days
    _q = d.ident
    v = d.hex_prefix_int(d.hmac_sha256_hex(date_shift_key(key), _q(spec.person_id_column)))
    days = f"CASE WHEN _r < {b} THEN _r - {b} ELSE _r - {b - 1} END"
    shifted = set(_shifted(p))
    cols = [
        f"{d.add_days(_q(c), days)} AS {_q(c)}" if c in shifted else _q(c)
        for c in [spec.person_id_column, *p.qis, *p.kept]
    ]
    name = f"shifted_{p.name}"
    eng.define_view(name, f"SELECT {', '.join(cols)} FROM (SELECT *, {v} % {2 * b} AS _r FROM {view}) s")
    return name


def _histogram(
    eng: DuckDBEngine | SparkEngine, local: duckdb.DuckDBPyConnection, p: _Plan, view: str, opted: str
) -> None:
    """``hist0`` in the local DuckDB: the rows counted per distinct QIs (and sensitive value, and
    opt-out), built by the engine."""
    _q = eng.dialect.ident
    cols = [*p.qis, *([p.sensitive] if p.sensitive else [])]
    group = ", ".join(_q(c) for c in cols)
    names = [f"q{i}" for i in range(len(p.qis))] + (["s"] if p.sensitive else [])
    alias = ", ".join(f"{_q(c)} AS {a}" for c, a in zip(cols, names, strict=True))
    by_opted = f", {opted}" if opted != "FALSE" else ""
    hist_sql = f"SELECT {alias}, {opted} AS opted, count(*) AS n FROM {view} GROUP BY {group}{by_opted}"
    if isinstance(eng, DuckDBEngine):
        eng.materialise("hist0", hist_sql)
    else:
        load_arrow(local, "hist0", eng.query(hist_sql))


def _prepare_lattice(
    local: duckdb.DuckDBPyConnection, spec: ExtractSpec, p: _Plan, rows: int
) -> tuple[Lattice, int]:
    if spec.k > rows:
        raise PipelineError(
            f"k={spec.k} impossible : la table {p.name} ne compte que {rows} ligne(s) extraite(s)",
            f"impossible k={spec.k}: only {rows} rows",
            code="impossible-k",
        )
    if p.sensitive and spec.l:
        distinct = local.execute("SELECT count(DISTINCT s) FROM hist0 WHERE NOT opted").fetchall()[0][0]
        if distinct < spec.l:
            raise PipelineError(
                f"l={spec.l} impossible : {p.sensitive} n'a que {distinct} valeur(s) distincte(s)",
                code="impossible-l",
            )
    # l and t hold where the sensitive column is; elsewhere, k alone
    criteria = Criteria(k=spec.k, l=spec.l if p.sensitive else None, t=spec.t if p.sensitive else None,
                        max_suppressed=int(spec.max_suppression * rows))
    bottom, top = [], []
    m = len(p.qis)
    # One pass over the histogram for every column: its values (with the sensitive one) and counts.
    sv = ", s" if p.sensitive else ""
    sets = ", ".join(f"(q{i}{sv})" for i in range(m))
    local.execute(
        f"CREATE OR REPLACE TEMP TABLE colall AS SELECT {', '.join(f'q{i}' for i in range(m))}{sv}, "
        f"{', '.join(f'grouping(q{i}) AS g{i}' for i in range(m))}, "
        f"coalesce(sum(n) FILTER (WHERE NOT opted), 0) AS n FROM hist0 GROUP BY GROUPING SETS ({sets})"
    )
    for i, col in enumerate(p.qis):
        h = p.spec.columns[col].hierarchy
        assert h is not None
        local.execute(f"CREATE OR REPLACE TEMP TABLE col{i} AS SELECT q{i}{sv}, n FROM colall WHERE g{i} = 0")
        values = (
            local.sql(f"SELECT DISTINCT q{i} AS v FROM col{i}").to_arrow_table().column("v").combine_chunks()
        )
        load_arrow(local, f"r{i}", recode_table(local, col, h, values))
        top.append(max_level(h))
        bottom.append(_column_bottom(local, i, top[-1], criteria, has_s=p.sensitive is not None))
    # Without a sensitive column, hist0's extracted rows are already one per QI combination.
    uniques = local.execute(
        "SELECT count(*) FROM hist0 WHERE NOT opted AND n = 1" if not p.sensitive else
        f"SELECT count(*) FROM (SELECT sum(n) AS n FROM hist0 WHERE NOT opted GROUP BY "
        f"{', '.join(f'q{i}' for i in range(len(p.qis)))}) WHERE n = 1"
    ).fetchall()[0][0]
    # The lookup tables: each value's code at its column's lower level → its code and loss at every
    # level above (codes shifted by one: 0 is a missing value, at every level).
    for i in range(m):
        lv_cols = ", ".join(f"c{lv} + 1 AS q{lv}, loss{lv} AS l{lv}" for lv in range(bottom[i], top[i] + 1))
        zeros = ", ".join("0, 0.0" for _ in range(bottom[i], top[i] + 1))
        local.execute(
            f"CREATE OR REPLACE TEMP TABLE lmap{i} AS SELECT DISTINCT c{bottom[i]} + 1 AS b, {lv_cols} "
            f"FROM r{i} UNION ALL SELECT 0, {zeros}"
        )
    # Group on the lower level's codes only; the higher levels (functions of it) are looked up.
    low = ", ".join(f"coalesce(r{i}.c{bottom[i]} + 1, 0) AS b{i}" for i in range(m))
    bkeys = ", ".join(f"b{i}" for i in range(m))
    joins = " ".join(f"LEFT JOIN r{i} ON h.q{i} = r{i}.v" for i in range(m))
    s = "h.s" if p.sensitive else "NULL"
    codes = f"SELECT {low}, {s} AS s, h.opted, h.n FROM hist0 h {joins}"
    if any(bottom):
        local.execute(f"""CREATE OR REPLACE TEMP TABLE histb AS
            SELECT {bkeys}, s, coalesce(sum(n) FILTER (WHERE NOT opted), 0) AS n, sum(n) AS pop
            FROM ({codes}) GROUP BY {bkeys}, s""")
    else:
        # At the lower levels already: hist0's rows as they are (the search sums rows by class,
        # a combination may take two rows: extracted and opted out).
        local.execute(f"""CREATE OR REPLACE TEMP TABLE histb AS
            SELECT {bkeys}, s, CASE WHEN opted THEN 0 ELSE n END AS n, n AS pop FROM ({codes})""")
    # Every level's code and loss, for the SQL path (t-closeness): codes unshifted, -1 if missing.
    hist_cols = ", ".join(
        f"m{i}.q{lv} - 1 AS q{i}_{lv}, m{i}.l{lv} AS q{i}_loss{lv}"
        for i in range(m)
        for lv in range(bottom[i], top[i] + 1)
    )
    maps = " ".join(f"JOIN lmap{i} m{i} ON h.b{i} = m{i}.b" for i in range(m))
    local.execute(f"CREATE OR REPLACE TEMP VIEW hist AS SELECT {hist_cols}, s, n, pop FROM histb h {maps}")
    return Lattice(
        local, bottom=tuple(bottom), top=tuple(top), has_s=p.sensitive is not None, criteria=criteria
    ), int(uniques)


def _column_bottom(local: duckdb.DuckDBPyConnection, i: int, top: int, c: Criteria, *, has_s: bool) -> int:
    """The lowest level at which the column alone stays within the suppression bound."""
    ls = "count(DISTINCT s) FILTER (WHERE n > 0)" if has_s else "NULL"
    bad = f"n < {c.k}" + (f" OR ls < {c.l}" if c.l else "")
    for level in range(top + 1):
        sup = local.execute(
            f"SELECT coalesce(sum(n) FILTER (WHERE {bad}), 0) FROM ("
            f"SELECT r.c{level}, sum(n) AS n, {ls} AS ls FROM col{i} h LEFT JOIN r{i} r ON h.q{i} = r.v "
            f"GROUP BY r.c{level})"
        ).fetchall()[0][0]
        if sup <= c.max_suppressed:
            return level
    return top


def _final_sql(
    eng: DuckDBEngine | SparkEngine,
    local: duckdb.DuckDBPyConnection,
    p: _Plan,
    pid: str,
    view: str,
    opted: str,
    key: bytes,
    lattice: Lattice | None,
    chosen: NodeResult | None,
) -> str:
    _q = eng.dialect.ident
    # HMAC once per person, not per row (a person has many stays), joined back by hash.
    pseudo = eng.dialect.hmac_sha256_hex(key, "v")
    select = [f"ps.p AS {PSEUDONYM}"]
    joins = [f"LEFT JOIN (SELECT v, {pseudo} AS p FROM (SELECT DISTINCT {_q(pid)} AS v FROM {view}) d) ps "
             f"ON t.{_q(pid)} = ps.v"]
    where = [f"NOT ({opted.replace(_q(pid), 't.' + _q(pid))})"]
    if lattice is not None and chosen is not None:
        cards = []
        for i, col in enumerate(p.qis):
            level = chosen.node[i]
            rec = local.sql(f"SELECT v, g{level} AS g, c{level} + 1 AS c FROM r{i}").to_arrow_table()
            cards.append(int(pc.max(rec.column("c")).as_py() or 0) + 1)
            eng.register_arrow(f"rf_{p.name}_{i}", rec)
            joins.append(f"LEFT JOIN rf_{p.name}_{i} r{i} ON t.{_q(col)} = r{i}.v")
            select.append(f"r{i}.g AS {_q(col)}")
        if math.prod(cards) >= 2**62:
            raise PipelineError(
                f"{p.name} : trop de combinaisons de quasi-identifiants", code="too-many-classes"
            )
        # A class is a number: the codes of its values (0 for a missing one) in mixed radix.
        if lattice.c.t is None:
            keys = lattice.suppressed_keys(cards)
        else:
            sup = local.sql(lattice.suppressed_classes(chosen.node)).to_arrow_table()
            load_arrow(local, "sup_in", sup)
            sup_key = _class_key([f"(g{i} + 1)" for i in range(len(p.qis))], cards)
            keys = local.sql(f"SELECT DISTINCT {sup_key} AS k FROM sup_in").to_arrow_table()
        eng.register_arrow(f"sup_{p.name}", keys)
        row_key = _class_key([f"coalesce(r{i}.c, 0)" for i in range(len(p.qis))], cards)
        where.append(f"{row_key} NOT IN (SELECT k FROM sup_{p.name})")
    select += [f"t.{_q(c)}" for c in p.kept]
    return f"SELECT {', '.join(select)} FROM {view} t {' '.join(joins)} WHERE {' AND '.join(where)}"


def _class_key(codes: list[str], cards: list[int]) -> str:
    key = "CAST(0 AS BIGINT)"
    for code, card in zip(codes, cards, strict=True):
        key = f"({key} * {card} + {code})"
    return key


def _table_report(
    spec: ExtractSpec,
    p: _Plan,
    out: Path,
    rows_in: int,
    rows_opted: int,
    rows_out: int,
    uniques: int,
    lattice: Lattice | None,
    r: NodeResult | None,
) -> TableReport:
    columns: list[ColumnReport] = []
    for name, cs in p.spec.columns.items():
        if name == spec.person_id_column:
            continue
        if cs.sensitivity is Sensitivity.quasi_identifier and r is not None and lattice is not None:
            i = p.qis.index(name)
            loss = (r.column_loss[i] + r.suppressed) / r.rows if r.rows else 0.0
            columns.append(
                ColumnReport(
                    name=name,
                    sensitivity=cs.sensitivity,
                    level=r.node[i],
                    max_level=lattice.top[i],
                    information_loss=round(loss, 6),
                    date_shift_max_days=spec.date_shift_max_days if name in _shifted(p) else None,
                )
            )
        else:
            columns.append(ColumnReport(name=name, sensitivity=cs.sensitivity))
    kept_rows = rows_in - rows_opted
    return TableReport(
        name=p.name,
        output_path=out,
        rows_in=rows_in,
        rows_opted_out=rows_opted,
        rows_suppressed=r.suppressed if r else 0,
        rows_out=rows_out,
        columns=columns,
        k_required=spec.k,
        k_reached=r.k_reached if r else None,
        classes=r.classes if r else 0,
        uniques_before=uniques,
        prosecutor_risk_max=round(1 / r.k_reached, 6) if r and r.k_reached else (1.0 if kept_rows else 0.0),
        prosecutor_risk_avg=round(r.classes / rows_out, 6) if r and rows_out else (1.0 if kept_rows else 0.0),
        journalist_risk_max=round(r.journalist_max, 6) if r else 1.0,
        l_required=spec.l if p.sensitive else None,
        l_reached=r.l_reached if r and p.sensitive else None,
        t_required=spec.t if p.sensitive else None,
        t_reached=round(r.t_reached, 6) if r and r.t_reached is not None else None,
        information_loss=round(r.information_loss(len(p.qis)), 6) if r else 0.0,
        lattice_nodes_evaluated=lattice.evaluated if lattice else 0,
    )


def report_json(report: ExtractReport) -> str:
    return json.dumps(json.loads(report.model_dump_json()), ensure_ascii=False, indent=2)
