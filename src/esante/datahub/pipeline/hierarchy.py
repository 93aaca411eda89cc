"""Generalisation hierarchies, turned into recode tables (value → every level) in DuckDB.

A recode table has the column's distinct values ``v`` (their own type), the generalised
value at each level ``g0`` (exact) .. ``gM`` (``*``) as text, its integer code ``c0`` .. ``cM``
(the lattice search groups on codes, not text), and each level's information
loss ``loss0`` .. ``lossM``: the normalised certainty penalty (Xu et al. 2006) of the value's
group, (distinct values in the group − 1) / (distinct values in the column − 1).
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from esante.datahub.pipeline.engines import load_arrow
from esante.datahub.pipeline.errors import PipelineError
from esante.datahub.pipeline.spec import (
    BandsHierarchy,
    DateHierarchy,
    Hierarchy,
    MappingHierarchy,
    PrefixHierarchy,
)

TOP = "*"
_DATE_FORMATS = {
    "month": "strftime(CAST(v AS DATE), '%Y-%m')",
    "year": "strftime(CAST(v AS DATE), '%Y')",
    "quarter": "strftime(CAST(v AS DATE), '%Y') || '-T' || CAST(quarter(CAST(v AS DATE)) AS VARCHAR)",
}
_DATE_ORDER = ["month", "quarter", "year"]


def max_level(h: Hierarchy) -> int:
    """The ``*`` level: every value generalised to one."""
    if isinstance(h, BandsHierarchy):
        return len(h.widths) + 1
    if isinstance(h, PrefixHierarchy):
        return len(h.lengths) + 1
    return len(h.levels) + 1


def check_nested(column: str, h: Hierarchy) -> None:
    """Each level must be a function of the one below (the lattice search relies on it)."""
    if isinstance(h, BandsHierarchy):
        for a, b in zip(h.widths, h.widths[1:], strict=False):
            if b % a:
                raise PipelineError(
                    f"{column} : tranches {a} puis {b} non emboîtées ({b} doit être un multiple de {a})",
                    f"{column}: bands {a} then {b} are not nested",
                    code="bad-hierarchy",
                )
    elif isinstance(h, PrefixHierarchy):
        if any(b >= a for a, b in zip(h.lengths, h.lengths[1:], strict=False)):
            raise PipelineError(
                f"{column} : les longueurs de préfixe doivent décroître", code="bad-hierarchy"
            )
    elif isinstance(h, DateHierarchy):
        ranks = [_DATE_ORDER.index(x) for x in h.levels]
        if ranks != sorted(set(ranks)):
            raise PipelineError(
                f"{column} : niveaux de date dans l'ordre mois, trimestre, année", code="bad-hierarchy"
            )


def _level_sql(column: str, h: Hierarchy, level: int, vtype: pa.DataType) -> str:
    if level == 0:
        if pa.types.is_date(vtype) or pa.types.is_timestamp(vtype):
            return "strftime(CAST(v AS DATE), '%Y-%m-%d')"
        return "CAST(v AS VARCHAR)"
    if level == max_level(h):
        return f"'{TOP}'"
    if isinstance(h, BandsHierarchy):
        if not (pa.types.is_integer(vtype) or pa.types.is_floating(vtype) or pa.types.is_decimal(vtype)):
            raise PipelineError(
                f"{column} : une hiérarchie par tranches demande une colonne numérique ({vtype})",
                code="bad-hierarchy",
            )
        w = h.widths[level - 1]
        lo = f"CAST(floor(v / {w}) * {w} AS BIGINT)"
        return f"CAST({lo} AS VARCHAR) || '-' || CAST({lo} + {w - 1} AS VARCHAR)"
    if isinstance(h, DateHierarchy):
        if not (pa.types.is_date(vtype) or pa.types.is_timestamp(vtype)):
            raise PipelineError(
                f"{column} : une hiérarchie de dates demande une colonne date ({vtype})", code="bad-hierarchy"
            )
        return _DATE_FORMATS[h.levels[level - 1]]
    if isinstance(h, PrefixHierarchy):
        return f"substr(CAST(v AS VARCHAR), 1, {h.lengths[level - 1]})"
    raise AssertionError(h)  # mappings are recoded in Python


def _mapping_levels(column: str, h: MappingHierarchy, values: list[object]) -> list[list[str]]:
    levels: list[list[str]] = [[str(v) for v in values]]
    for i, mapping in enumerate(h.levels, start=1):
        missing = sorted({x for x in levels[-1] if x not in mapping})
        if missing:
            raise PipelineError(
                f"{column} : la hiérarchie (niveau {i}) ne couvre pas {len(missing)} valeur(s), par exemple "
                f"{', '.join(missing[:5])}",
                f"{column}: hierarchy level {i} does not cover {len(missing)} value(s)",
                code="hierarchy-not-covering",
            )
        levels.append([mapping[x] for x in levels[-1]])
    return levels


def recode_table(con: duckdb.DuckDBPyConnection, column: str, h: Hierarchy, values: pa.Array) -> pa.Table:
    """Every non-null distinct value of ``column`` with its generalisations and losses."""
    check_nested(column, h)
    top = max_level(h)
    base = pa.table({"v": values}).filter(pa.compute.is_valid(values))
    load_arrow(con, "recode_in", base)
    try:
        if isinstance(h, MappingHierarchy):
            levels = _mapping_levels(column, h, base.column("v").to_pylist())
            cols = {f"g{i}": pa.array(lv, pa.string()) for i, lv in enumerate(levels)}
            load_arrow(con, "recode_map", pa.table({"v": base.column("v"), **cols}))
            sql = f"SELECT *, '{TOP}' AS g{top} FROM recode_map"
        else:
            gens = ", ".join(f"{_level_sql(column, h, i, values.type)} AS g{i}" for i in range(top + 1))
            sql = f"SELECT v, {gens} FROM recode_in"
        distinct = len(base)
        denom = max(distinct - 1, 1)
        losses = ", ".join(
            f"(count(*) OVER (PARTITION BY g{i}) - 1) / {denom}::DOUBLE AS loss{i}" for i in range(top + 1)
        )
        codes = ", ".join(f"(dense_rank() OVER (ORDER BY g{i}) - 1)::INTEGER AS c{i}" for i in range(top + 1))
        return con.sql(f"SELECT *, {losses}, {codes} FROM ({sql}) ORDER BY v").to_arrow_table()
    except duckdb.Error as exc:
        raise PipelineError(f"{column} : généralisation impossible ({exc})", code="bad-hierarchy") from None
