"""FHIR search over the index tables (never a scan of resource bodies).

Supported: the parameters of ``searchparams`` plus ``_id`` and ``_lastUpdated``; string
modifiers ``:exact`` and ``:contains``; ``:missing`` on every parameter; a resource-type
modifier on references (``subject:Patient=1``); one level of chaining on references
(``subject:Patient.family=martin``); date prefixes eq, ne, gt, lt, ge, le, sa, eb;
comma-separated values (OR) and repeated parameters (AND); ``_count`` (with paging links),
``_offset``, ``_sort``, ``_include``, ``_revinclude``, ``_summary=count``, ``_elements``,
``_total``. Unknown parameters: 400 with ``Prefer: handling=strict``, otherwise ignored and
reported in an OperationOutcome."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, not_, or_, select
from sqlalchemy.orm import Session

from esante.fhir.models import (
    FhirDateIndex,
    FhirRefIndex,
    FhirResource,
    FhirStringIndex,
    FhirTokenIndex,
)
from esante.fhir.outcome import FhirError, Issue
from esante.fhir.searchparams import Param, param
from esante.fhir.values import date_range, normalise, split_reference

DEFAULT_COUNT = 20
MAX_COUNT = 500
MAX_INCLUDES = 1000
RESULT_PARAMS = frozenset({"_count", "_offset", "_sort", "_include", "_revinclude",
                           "_summary", "_elements", "_total", "_format", "_pretty"})
PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb")

AccessFilter = Callable[[], ColumnElement[bool]]


@dataclass
class Query:
    resource_type: str
    where: list[ColumnElement[bool]] = field(default_factory=list)
    count: int = DEFAULT_COUNT
    offset: int = 0
    sort: list[tuple[str, bool]] = field(default_factory=list)  # (param, descending)
    includes: list[tuple[str, str, str | None]] = field(default_factory=list)
    revincludes: list[tuple[str, str, str | None]] = field(default_factory=list)
    summary_count: bool = False
    elements: list[str] = field(default_factory=list)
    ignored: list[Issue] = field(default_factory=list)
    kept: list[tuple[str, str]] = field(default_factory=list)  # for paging links


@dataclass
class Result:
    total: int
    pks: list[int]
    include_pks: list[int]
    query: Query
    rows: list[FhirResource] = field(default_factory=list)  # the page itself, in order


def _bad(fr: str, en: str, code: str = "invalid") -> FhirError:
    return FhirError(400, fr, en, code=code)


def _like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# --- conditions per kind --------------------------------------------------------------------

def _exists(table: Any, rtype: str, name: str, *conds: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists().where(table.res_pk == FhirResource.pk, table.resource_type == rtype,
                          table.param == name, *conds)


def _token(rtype: str, p: Param, value: str, modifier: str) -> ColumnElement[bool]:
    if modifier not in ("",):
        raise _bad(f"modificateur :{modifier} non pris en charge pour {p.name}",
                   f"modifier :{modifier} not supported for {p.name}", "not-supported")
    if "|" in value:
        system, code = value.split("|", 1)
        conds = [FhirTokenIndex.system == system]
        if code:
            conds.append(FhirTokenIndex.code == code)
        return _exists(FhirTokenIndex, rtype, p.name, *conds)
    return _exists(FhirTokenIndex, rtype, p.name, FhirTokenIndex.code == value)


def _string(rtype: str, p: Param, value: str, modifier: str) -> ColumnElement[bool]:
    if modifier == "exact":
        return _exists(FhirStringIndex, rtype, p.name, FhirStringIndex.exact == value)
    norm = _like(normalise(value))
    if modifier == "contains":
        return _exists(FhirStringIndex, rtype, p.name,
                       FhirStringIndex.norm.like(f"%{norm}%", escape="\\"))
    if modifier:
        raise _bad(f"modificateur :{modifier} non pris en charge pour {p.name}",
                   f"modifier :{modifier} not supported for {p.name}", "not-supported")
    return _exists(FhirStringIndex, rtype, p.name, FhirStringIndex.norm.like(f"{norm}%", escape="\\"))


def _split_prefix(value: str) -> tuple[str, str]:
    if len(value) > 2 and value[:2] in PREFIXES and value[2].isdigit():
        return value[:2], value[2:]
    return "eq", value


def _date_cond(low: Any, high: Any, value: str) -> ColumnElement[bool]:
    prefix, raw = _split_prefix(value)
    lo, hi = date_range(raw)
    return {
        # ``low <= hi`` is implied (an indexed range never ends before it starts) but gives
        # the index scan on (low, high) an upper bound: a birthdate search reads that day's
        # rows, not every row from that day on (at 1,000,000 Patients the planner otherwise
        # walked a family name's 20,000 rows instead).
        "eq": and_(low >= lo, low <= hi, high <= hi),
        "ne": not_(and_(low >= lo, high <= hi)),
        "gt": high > hi,
        "lt": low < lo,
        "ge": high >= lo,
        "le": low <= hi,
        "sa": low > hi,
        "eb": high < lo,
    }[prefix]


def _date(rtype: str, p: Param, value: str, modifier: str) -> ColumnElement[bool]:
    if modifier:
        raise _bad(f"modificateur :{modifier} non pris en charge pour {p.name}",
                   f"modifier :{modifier} not supported for {p.name}", "not-supported")
    return _exists(FhirDateIndex, rtype, p.name,
                   _date_cond(FhirDateIndex.low, FhirDateIndex.high, value))


def _reference(rtype: str, p: Param, value: str, modifier: str) -> ColumnElement[bool]:
    target_type = modifier or p.target
    split = split_reference(value)
    if split:
        if target_type and split[0] != target_type:
            return false()
        target_type, fid = split
    else:
        fid = value
    conds = [FhirRefIndex.target_fid == fid]
    if target_type:
        conds.append(FhirRefIndex.target_type == target_type)
    return _exists(FhirRefIndex, rtype, p.name, *conds)


KIND_TABLE: dict[str, Any] = {"token": FhirTokenIndex, "string": FhirStringIndex, "date": FhirDateIndex,
              "reference": FhirRefIndex}
BUILDERS = {"token": _token, "string": _string, "date": _date, "reference": _reference}


# --- parsing --------------------------------------------------------------------------------

class Parser:
    def __init__(self, rtype: str, *, strict: bool, access: AccessFilter) -> None:
        self.q = Query(rtype)
        self.strict = strict
        self.access = access

    def unknown(self, name: str) -> None:
        fr = f"paramètre de recherche inconnu pour {self.q.resource_type} : {name[:60]}"
        en = f"unknown search parameter for {self.q.resource_type}: {name[:60]}"
        if self.strict:
            raise _bad(fr, en, "not-supported")
        self.q.ignored.append(Issue(fr + " (ignoré)", en + " (ignored)", "not-supported",
                                    severity="warning"))

    def parse(self, items: Sequence[tuple[str, str]]) -> Query:
        for key, value in items:
            if key in RESULT_PARAMS:
                self.result_param(key, value)
            else:
                cond = self.condition(key, value)
                if cond is not None:
                    self.q.where.append(cond)
                    self.q.kept.append((key, value))
        return self.q

    def condition(self, key: str, value: str) -> ColumnElement[bool] | None:
        rtype = self.q.resource_type
        name, _, modifier = key.partition(":")
        chain = None
        if "." in modifier:
            modifier, chain = modifier.split(".", 1)
        elif "." in name:
            name, chain = name.split(".", 1)
        if name == "_id":
            values = [v for v in value.split(",") if v]
            return FhirResource.fid.in_(values)
        if name == "_lastUpdated":
            return and_(*[_date_cond(FhirResource.last_updated, FhirResource.last_updated, v)
                          for v in [value]])
        p = param(rtype, name)
        if p is None:
            self.unknown(name)
            return None
        if modifier == "missing":
            if value not in ("true", "false"):
                raise _bad(f":missing attend true ou false, reçu {value[:20]}",
                           f":missing expects true or false, got {value[:20]}", "value")
            present = exists().where(KIND_TABLE[p.kind].res_pk == FhirResource.pk,
                                     KIND_TABLE[p.kind].param == p.name)
            return not_(present) if value == "true" else present
        if chain is not None:
            return self.chained(p, modifier, chain, value)
        values = [v for v in value.split(",") if v != ""]
        if not values:
            raise _bad(f"valeur vide pour {name}", f"empty value for {name}", "value")
        return or_(*[BUILDERS[p.kind](rtype, p, v, modifier) for v in values])

    def chained(self, p: Param, modifier: str, chain: str, value: str) -> ColumnElement[bool]:
        if p.kind != "reference":
            raise _bad(f"chaînage impossible sur {p.name} (pas une référence)",
                       f"cannot chain on {p.name} (not a reference)", "invalid")
        target_type = modifier or p.target
        if not target_type:
            raise _bad(f"chaînage sur {p.name} : préciser le type ({p.name}:Patient.…)",
                       f"chaining on {p.name} needs a type ({p.name}:Patient...)", "invalid")
        inner = Parser(target_type, strict=True, access=self.access)
        cond = inner.condition(chain, value)
        if cond is None:
            raise _bad(f"paramètre chaîné inconnu : {chain[:60]}",
                       f"unknown chained parameter: {chain[:60]}", "not-supported")
        # The target must match AND be readable by the user: a chain never leaks.
        targets = select(FhirResource.fid).where(
            FhirResource.resource_type == target_type, FhirResource.deleted.is_(False),
            cond, self.access())
        return _exists(FhirRefIndex, self.q.resource_type, p.name,
                       FhirRefIndex.target_type == target_type,
                       FhirRefIndex.target_fid.in_(targets))

    def result_param(self, key: str, value: str) -> None:
        q = self.q
        if key in ("_count", "_offset"):
            if not value.isdigit():
                raise _bad(f"{key} attend un entier positif, reçu {value[:20]}",
                           f"{key} expects a non-negative integer, got {value[:20]}", "value")
            n = int(value)
            if key == "_count" and n > MAX_COUNT:
                raise _bad(f"_count trop grand : {n} (maximum {MAX_COUNT})",
                           f"_count too large: {n} (maximum {MAX_COUNT})", "too-costly")
            setattr(q, key[1:], n)
            if key == "_count" and n == 0:
                q.summary_count = True
        elif key == "_sort":
            for item in value.split(","):
                desc = item.startswith("-")
                name = item.lstrip("-")
                if name not in ("_id", "_lastUpdated") and param(q.resource_type, name) is None:
                    raise _bad(f"_sort : paramètre inconnu {name[:60]}",
                               f"_sort: unknown parameter {name[:60]}", "not-supported")
                q.sort.append((name, desc))
            q.kept.append((key, value))
        elif key in ("_include", "_revinclude"):
            spec = self.include_spec(key, value)
            (q.includes if key == "_include" else q.revincludes).append(spec)
            q.kept.append((key, value))
        elif key == "_summary":
            if value == "count":
                q.summary_count = True
            elif value != "false":
                self.unknown(f"_summary={value}")
            q.kept.append((key, value))
        elif key == "_elements":
            q.elements = [e.strip() for e in value.split(",") if e.strip()]
            q.kept.append((key, value))

    def include_spec(self, key: str, value: str) -> tuple[str, str, str | None]:
        parts = value.split(":")
        if len(parts) not in (2, 3):
            raise _bad(f"{key} attend Type:paramètre[:cible], reçu {value[:60]}",
                       f"{key} expects Type:param[:target], got {value[:60]}", "value")
        source, name = parts[0], parts[1]
        target = parts[2] if len(parts) == 3 else None
        p = param(source, name)
        if p is None or p.kind != "reference":
            raise _bad(f"{key} : {source}:{name} n'est pas une référence connue",
                       f"{key}: {source}:{name} is not a known reference parameter",
                       "not-supported")
        if key == "_include" and source != self.q.resource_type:
            raise _bad(f"_include doit partir de {self.q.resource_type}, pas de {source}",
                       f"_include must start from {self.q.resource_type}", "invalid")
        return source, name, target or p.target


# --- running --------------------------------------------------------------------------------

def _sort_key(q: Query, name: str) -> Any:
    if name == "_id":
        return FhirResource.fid
    if name == "_lastUpdated":
        return FhirResource.last_updated
    p = param(q.resource_type, name)
    assert p is not None
    table: Any = KIND_TABLE[p.kind]  # one of the index tables
    column = {"token": "code", "string": "norm", "date": "low", "reference": "target_fid"}[p.kind]
    return (select(func.min(getattr(table, column)))
            .where(table.res_pk == FhirResource.pk, table.param == p.name)
            .scalar_subquery())


def base(q: Query, access: ColumnElement[bool]) -> Select[Any]:
    return select(FhirResource.pk).where(
        FhirResource.resource_type == q.resource_type, FhirResource.deleted.is_(False),
        access, *q.where)


def run(session: Session, q: Query, access: ColumnElement[bool]) -> Result:
    stmt = base(q, access)
    if q.summary_count:
        total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        return Result(total, [], [], q)
    order = []
    for name, desc in q.sort:
        key = _sort_key(q, name)
        order.append(key.desc() if desc else key.asc())
    order.append(FhirResource.pk.asc())
    # The page's rows in one query (not their keys, then the rows).
    page = stmt.with_only_columns(FhirResource)
    rows = list(session.scalars(page.order_by(*order).limit(q.count).offset(q.offset)))
    if q.offset == 0 and len(rows) < q.count:
        total = len(rows)  # the whole result is on this page: no count query needed
    else:
        total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    pks = [r.pk for r in rows]
    return Result(total, pks, includes(session, q, pks, access), q, rows)


def includes(session: Session, q: Query, pks: list[int], access: ColumnElement[bool]) -> list[int]:
    if not pks or not (q.includes or q.revincludes):
        return []
    found: list[int] = []
    for _source, name, target in q.includes:
        refs = select(FhirRefIndex.target_type, FhirRefIndex.target_fid).where(
            FhirRefIndex.res_pk.in_(pks), FhirRefIndex.param == name)
        if target:
            refs = refs.where(FhirRefIndex.target_type == target)
        pairs = session.execute(refs).all()
        for ttype in {t for t, _ in pairs}:
            fids = [f for t, f in pairs if t == ttype]
            found += session.scalars(select(FhirResource.pk).where(
                FhirResource.resource_type == ttype, FhirResource.fid.in_(fids),
                FhirResource.deleted.is_(False), access).limit(MAX_INCLUDES))
    if q.revincludes:
        matched = session.execute(select(FhirResource.resource_type, FhirResource.fid).where(
            FhirResource.pk.in_(pks))).all()
        for source, name, _target in q.revincludes:
            for ttype in {t for t, _ in matched}:
                fids = [f for t, f in matched if t == ttype]
                found += session.scalars(select(FhirResource.pk).where(
                    FhirResource.resource_type == source, FhirResource.deleted.is_(False),
                    access, exists().where(
                        FhirRefIndex.res_pk == FhirResource.pk, FhirRefIndex.param == name,
                        FhirRefIndex.target_type == ttype, FhirRefIndex.target_fid.in_(fids)))
                    .limit(MAX_INCLUDES))
    seen = set(pks)
    unique = []
    for pk in found:
        if pk not in seen:
            seen.add(pk)
            unique.append(pk)
    return unique


def elements_only(resource: dict[str, Any], elements: list[str]) -> dict[str, Any]:
    keep = {"resourceType", "id", "meta", *elements}
    out = {k: v for k, v in resource.items() if k in keep}
    meta = dict(out.get("meta") or {})
    meta["tag"] = [*meta.get("tag", []), {
        "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
        "code": "SUBSETTED", "display": "Resource encoded in summary mode"}]
    out["meta"] = meta
    return out
