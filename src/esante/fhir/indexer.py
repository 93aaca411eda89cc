"""Index rows of a resource, from the search-parameter table (``searchparams``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from esante.fhir.searchparams import COMPARTMENT, PARAMS
from esante.fhir.values import MAX_DT, MAX_STR, MIN_DT, date_range, normalise, split_reference


@dataclass
class IndexRows:
    tokens: list[tuple[str, str, str]] = field(default_factory=list)  # param, system, code
    strings: list[tuple[str, str, str]] = field(default_factory=list)  # param, norm, exact
    dates: list[tuple[str, datetime, datetime]] = field(default_factory=list)
    refs: list[tuple[str, str, str]] = field(default_factory=list)  # param, type, id


def walk(node: Any, path: str) -> Iterator[Any]:
    """Values at a dotted path, lists flattened at every step."""
    current = [node]
    for step in path.split("."):
        nxt: list[Any] = []
        for item in current:
            value = item.get(step) if isinstance(item, dict) else None
            if isinstance(value, list):
                nxt.extend(value)
            elif value is not None:
                nxt.append(value)
        current = nxt
    yield from current


def _tokens(value: Any) -> Iterator[tuple[str, str]]:
    if isinstance(value, bool):
        yield "", "true" if value else "false"
    elif isinstance(value, str):
        yield "", value
    elif isinstance(value, dict):
        if "coding" in value or ("text" in value and "value" not in value):
            for coding in value.get("coding", []):
                if coding.get("code"):
                    yield coding.get("system", ""), coding["code"]
        elif "code" in value:  # Coding
            yield value.get("system", ""), value["code"]
        elif "value" in value:  # Identifier, ContactPoint
            yield value.get("system", ""), str(value["value"])


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):  # HumanName, Address as a whole
        for key in ("family", "text", "city", "postalCode", "country"):
            if isinstance(value.get(key), str):
                yield value[key]
        for key in ("given", "prefix", "line"):
            yield from (v for v in value.get(key, []) if isinstance(v, str))


def _dates(value: Any) -> Iterator[tuple[datetime, datetime]]:
    if isinstance(value, str):
        yield date_range(value)
    elif isinstance(value, dict) and ("start" in value or "end" in value):  # Period
        low = date_range(value["start"])[0] if value.get("start") else MIN_DT
        high = date_range(value["end"])[1] if value.get("end") else MAX_DT
        yield low, high


def index_rows(resource: dict[str, Any]) -> IndexRows:
    rows = IndexRows()
    for p in PARAMS.get(resource["resourceType"], ()):
        for path in p.paths:
            for value in walk(resource, path):
                if p.kind == "token":
                    rows.tokens.extend((p.name, s[:MAX_STR], c[:MAX_STR]) for s, c in _tokens(value))
                elif p.kind == "string":
                    rows.strings.extend((p.name, normalise(s), s[:MAX_STR]) for s in _strings(value))
                elif p.kind == "date":
                    rows.dates.extend((p.name, lo, hi) for lo, hi in _dates(value))
                elif p.kind == "reference" and isinstance(value, dict):
                    target = split_reference(value.get("reference", ""))
                    if target and (p.target is None or target[0] == p.target):
                        rows.refs.append((p.name, target[0], target[1][:64]))
    return rows


def compartment_patient(resource: dict[str, Any]) -> str | None:
    """The Patient id whose compartment holds the resource, if any."""
    rtype = resource["resourceType"]
    if rtype == "Patient":
        return str(resource.get("id")) if resource.get("id") else None
    for path in COMPARTMENT.get(rtype, ()):
        for value in walk(resource, path):
            target = split_reference(value.get("reference", "")) if isinstance(value, dict) else None
            if target and target[0] == "Patient":
                return target[1]
    return None
