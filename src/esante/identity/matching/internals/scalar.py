"""The real-time path: one record prepared, one pair compared, in plain Python.

A desk waits for its candidates: DuckDB's set-up per call (tables, joins) costs far more
than the comparison itself. These functions restate the SQL of ``prepare``,
``comparisons`` and ``blocking`` for one record or one pair; the tests check on generated
files that both paths give the same levels and the same keys.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from rapidfuzz.distance import JaroWinkler

from esante.identity.matching.internals.comparisons import COMPARISONS
from esante.identity.matching.internals.model import Parameters
from esante.identity.matching.internals.normalise import normalise_name, phonetic_key

_NIR = re.compile(r"[12378][0-9]{4}([0-9]{2}|2A|2B)[0-9]{8}")
_NIR_NOISE = re.compile(r"[\s.\-]")
_MALE = {"1", "M", "H", "MASCULIN", "HOMME"}
_FEMALE = {"2", "F", "FEMININ", "FÉMININ", "FEMME"}


@dataclass(frozen=True)
class Prepared:
    """The columns of the ``rec`` table that comparisons and keys use."""

    bn: str | None
    un: str | None
    fn: str | None
    f1: str | None
    bn_c: str | None
    un_c: str | None
    fn_c: str | None
    bn_ph: str | None
    un_ph: str | None
    f1_ph: str | None
    bn_tokens: tuple[str, ...]
    fn_tokens: tuple[str, ...]
    sex: str | None
    dob: dt.date | None
    place: str | None
    dept: str | None
    nir: str | None
    nir13: str | None
    nir_key_ok: bool
    nir_traits_ok: bool


def _text(value: object) -> str:
    return str(value).strip() if value is not None else ""


def _date(value: str) -> dt.date | None:
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(value, pattern).date()
        except ValueError:
            continue
    return None


def _nir(value: str, sex: str | None, dob: dt.date | None) -> tuple[str | None, bool, bool]:
    text = _NIR_NOISE.sub("", value).upper()
    if not _NIR.fullmatch(text):
        return None, False, False
    key_ok = 97 - int(text[:13].replace("2A", "19").replace("2B", "18")) % 97 == int(text[13:])
    sex_ok = sex is None or (text[0] in "137" and sex == "1") or (text[0] in "248" and sex == "2")
    month = int(text[3:5])
    date_ok = dob is None or (text[1:3] == f"{dob:%y}" and (month == dob.month or month > 12))
    return text, key_ok, sex_ok and date_ok


def prepare(record: Mapping[str, object]) -> Prepared:
    """One record as the batch engine's ``rec`` table holds it."""
    bn = normalise_name(_text(record.get("birth_name"))) or None
    un = normalise_name(_text(record.get("used_name"))) or None
    fn = normalise_name(_text(record.get("first_names"))) or None
    sex_text = _text(record.get("sex")).upper()
    sex = "1" if sex_text in _MALE else "2" if sex_text in _FEMALE else None
    dob = _date(_text(record.get("birth_date")))
    place = _text(record.get("birth_place")).upper() or None
    nir, key_ok, traits_ok = _nir(_text(record.get("nir")), sex, dob)
    f1 = fn.split(" ", 1)[0] if fn else None
    compact = [v.replace(" ", "") if v else None for v in (bn, un, fn)]
    dept = None
    if place:
        dept = place if place.startswith("99") else place[:3] if place[:2] in ("97", "98") else place[:2]
    return Prepared(
        bn=bn, un=un, fn=fn, f1=f1, bn_c=compact[0], un_c=compact[1], fn_c=compact[2],
        bn_ph=phonetic_key(compact[0]) or None, un_ph=phonetic_key(compact[1]) or None,
        f1_ph=phonetic_key(f1) or None, bn_tokens=tuple(bn.split(" ")) if bn else (),
        fn_tokens=tuple(fn.split(" ")) if fn else (), sex=sex, dob=dob, place=place, dept=dept,
        nir=nir, nir13=nir[:13] if nir else None, nir_key_ok=key_ok, nir_traits_ok=traits_ok)


def _jw(a: str, b: str) -> float:
    return float(JaroWinkler.similarity(a, b))


def _nir_level(a: Prepared, b: Prepared) -> int:
    if a.nir13 is None or b.nir13 is None:
        return -1
    if a.nir13 == b.nir13:
        if a.nir_traits_ok and b.nir_traits_ok:
            return 0 if a.nir == b.nir and a.nir_key_ok else 1
        return 2
    return 3 if a.nir_key_ok and b.nir_key_ok and a.nir_traits_ok and b.nir_traits_ok else 4


def _date_level(a: Prepared, b: Prepared) -> int:
    if a.dob is None or b.dob is None:
        return -1
    if a.dob == b.dob:
        return 0
    if a.dob.year == b.dob.year and a.dob.day == b.dob.month and a.dob.month == b.dob.day:
        return 1
    same = (a.dob.year == b.dob.year) + (a.dob.month == b.dob.month) + (a.dob.day == b.dob.day)
    return 2 if same == 2 else 3


def _birth_name_level(a: Prepared, b: Prepared) -> int:
    if a.bn is None or b.bn is None or a.bn_c is None or b.bn_c is None:
        return -1
    if a.bn_c == b.bn_c:
        return 0
    if a.bn_ph == b.bn_ph or _jw(a.bn_c, b.bn_c) >= 0.92:
        return 1
    if ((a.bn_c == b.un_c or a.un_c == b.bn_c or (a.un_c is not None and a.un_c == b.un_c))
            or set(b.bn_tokens) <= set(a.bn_tokens) or set(a.bn_tokens) <= set(b.bn_tokens)):
        return 2
    return 3 if _jw(a.bn_c, b.bn_c) >= 0.80 else 4


def _first_names_level(a: Prepared, b: Prepared) -> int:
    if a.f1 is None or b.f1 is None:
        return -1
    if a.fn_c == b.fn_c:
        return 0
    if a.f1 == b.f1:
        return 1
    if (set(a.fn_tokens) & set(b.fn_tokens) or (a.fn_c or "").startswith(b.f1)
            or (b.fn_c or "").startswith(a.f1)):
        return 2
    if a.f1_ph == b.f1_ph or _jw(a.f1, b.f1) >= 0.90:
        return 3
    return 4 if _jw(a.f1, b.f1) >= 0.80 else 5


def _used_name_level(a: Prepared, b: Prepared) -> int:
    if a.un_c is None or b.un_c is None:
        return -1
    return 0 if a.un_c == b.un_c or _jw(a.un_c, b.un_c) >= 0.92 else 1


def _pair(left: str | None, right: str | None, same: int, other: int) -> int:
    if left is None or right is None:
        return -1
    return same if left == right else other


def levels(a: Prepared, b: Prepared) -> dict[str, int]:
    """The level of each comparison (the ``g_*`` columns of the batch engine)."""
    place = _pair(a.place, b.place, 0, 1 if a.dept == b.dept else 2)
    return {"nir": _nir_level(a, b), "birth_date": _date_level(a, b), "birth_name": _birth_name_level(a, b),
            "first_names": _first_names_level(a, b), "used_name": _used_name_level(a, b),
            "sex": _pair(a.sex, b.sex, 0, 1), "birth_place": place}


def twin_first(a: Prepared, b: Prepared) -> bool:
    """The first birth first names differ (``comparisons.TWIN_FIRST_SQL``)."""
    if a.f1 is None or b.f1 is None:
        return False
    return not (a.f1 in b.fn_tokens or b.f1 in a.fn_tokens or (a.fn_c or "").startswith(b.f1)
                or (b.fn_c or "").startswith(a.f1) or a.f1_ph == b.f1_ph
                or _jw(a.f1, b.f1) >= 0.80)


def twins(g: Mapping[str, int], a: Prepared, b: Prepared) -> bool:
    """``comparisons.TWIN_RULE``: same birth date and family name, first names that differ."""
    return (g["birth_date"] == 0 and g["birth_name"] in (0, 1) and g["first_names"] >= 2
            and twin_first(a, b))


def weight(g: Mapping[str, int], params: Parameters, *, twins: bool = False) -> float:
    """Match weight of a pair from its levels (no term frequencies), rules first."""
    if twins or g["nir"] == 3:
        return -40.0
    total = math.log2(params.prior / (1 - params.prior))
    for c in COMPARISONS:
        if g[c.name] >= 0:
            total += params.weight(c.name, g[c.name])
    return total


def keys(p: Prepared) -> list[str]:
    """The blocking keys of ``blocking.RULES`` for one prepared record."""
    date = f"{p.dob:%Y%m%d}" if p.dob else None
    year = str(p.dob.year) if p.dob else None
    candidates = [
        ("nir", (p.nir13,)), ("date_lieu", (date, p.place)), ("date_prenom", (date, p.f1_ph)),
        ("date_nom", (date, p.bn_ph)), ("date_nom", (date, p.un_ph)),
        ("noms_annee", (p.bn_ph, p.f1_ph, year)), ("noms_annee", (p.un_ph, p.f1_ph, year)),
        ("noms_lieu", (p.bn_ph, p.f1_ph, p.place)),
    ]
    return sorted({f"{rule}:{' '.join(parts)}" for rule, parts in candidates  # type: ignore[arg-type]
                   if all(part is not None for part in parts)})
