"""FHIR primitive values as the index stores them: dates as UTC ranges, strings
normalised for case- and accent-insensitive search, references split in type and id."""

from __future__ import annotations

import calendar
import re
import unicodedata
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from esante.core.errors import Invalid

_DATE = re.compile(
    r"^(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})"
    r"(?:T(?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d{1,9}))?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)
MAX_STR = 200
MIN_DT = datetime(1, 1, 1, tzinfo=UTC)
MAX_DT = datetime(9999, 12, 31, 23, 59, 59, 999999, UTC)


@lru_cache(maxsize=65_536)  # names and towns repeat: a bulk load meets each one many times
def normalise(text: str) -> str:
    """Lower case without accents (NFKD, combining marks dropped), for searching."""
    if text.isascii():  # nothing to decompose
        return text.lower()[:MAX_STR]
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()[:MAX_STR]


def date_range(value: str) -> tuple[datetime, datetime]:
    """The instants a FHIR date, dateTime or instant covers: ``1980`` is the whole year.
    Times without a zone are taken as UTC."""
    m = _DATE.match(value.strip())
    if not m:
        raise Invalid(f"date FHIR invalide : « {value[:40]} » (AAAA, AAAA-MM, AAAA-MM-JJ ou "
                      "AAAA-MM-JJThh:mm:ss+zz:zz)", f"invalid FHIR date: {value[:40]!r}",
                      code="date")
    y = int(m["y"])
    try:
        if m["m"] is None:
            return datetime(y, 1, 1, tzinfo=UTC), datetime(y, 12, 31, 23, 59, 59, 999999, UTC)
        mo = int(m["m"])
        if m["d"] is None:
            last = calendar.monthrange(y, mo)[1]
            return (datetime(y, mo, 1, tzinfo=UTC),
                    datetime(y, mo, last, 23, 59, 59, 999999, UTC))
        d = int(m["d"])
        if m["H"] is None:
            return datetime(y, mo, d, tzinfo=UTC), datetime(y, mo, d, 23, 59, 59, 999999, UTC)
        offset = timedelta(0)
        if m["tz"] and m["tz"] != "Z":
            sign = 1 if m["tz"][0] == "+" else -1
            offset = sign * timedelta(hours=int(m["tz"][1:3]), minutes=int(m["tz"][4:6]))
        start = datetime(y, mo, d, int(m["H"]), int(m["M"]), int(m["S"] or 0),
                         int((m["f"] or "0").ljust(6, "0")[:6]), tzinfo=UTC) - offset
        if m["S"] is None:
            return start, start + timedelta(minutes=1) - timedelta(microseconds=1)
        if m["f"] is None:
            return start, start + timedelta(seconds=1) - timedelta(microseconds=1)
        return start, start
    except ValueError:
        raise Invalid(f"date FHIR impossible : « {value[:40]} »",
                      f"impossible FHIR date: {value[:40]!r}", code="date") from None


def split_reference(ref: str) -> tuple[str, str] | None:
    """``Patient/123`` (or an absolute URL ending so, or with ``/_history/n``) →
    ("Patient", "123"); contained (``#x``) and other references → None."""
    if not ref or ref.startswith("#") or ref.startswith("urn:"):
        return None
    parts = ref.split("/")
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    if len(parts) < 2 or not parts[-2][:1].isupper():
        return None
    return parts[-2], parts[-1]
