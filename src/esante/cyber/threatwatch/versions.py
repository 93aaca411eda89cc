"""Version ordering: PEP 440 (``packaging.version``) where every version of a comparison
parses, a loose ordering otherwise (``2.4.58``, ``8.9p1``, ``1.0.2k``, ``7.4.1-beta``).

The loose key splits a version into numbers and words: numbers compare as numbers,
pre-release words (``dev`` < ``alpha`` < ``beta`` < ``pre`` < ``rc``) come before the end of
the version (``1.0rc1`` < ``1.0``), other words after it (``8.9`` < ``8.9p1``), and trailing
zeros do not count (``1.0`` = ``1.0.0``)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from packaging.version import InvalidVersion, Version

_TOKENS = re.compile(r"\d+|[a-z]+")
_PRE = {"dev": 0, "snapshot": 0, "a": 1, "alpha": 1, "b": 2, "beta": 2, "pre": 3,
        "preview": 3, "c": 4, "rc": 4, "cr": 4}
_END = (1, 0, "")

LooseKey = tuple[tuple[int, int, str], ...]


@lru_cache(maxsize=200_000)
def pep(version: str) -> Version | None:
    """The PEP 440 version, or None when the string is not one."""
    try:
        return Version(version)
    except InvalidVersion:
        return None


@lru_cache(maxsize=200_000)
def loose(version: str) -> LooseKey:
    tokens: list[tuple[int, int, str]] = []
    for token in _TOKENS.findall(version.lower()):
        if token.isdigit():
            tokens.append((2, int(token), ""))
        elif token in _PRE:
            tokens.append((0, _PRE[token], ""))
        else:
            tokens.append((3, 0, token))
    while tokens and tokens[-1] == (2, 0, ""):
        tokens.pop()
    # zeros before a pre-release word do not count either: 1.0rc1 = 1.0.0rc1
    out: list[tuple[int, int, str]] = []
    for token in tokens:
        if token[0] == 0:
            while out and out[-1] == (2, 0, ""):
                out.pop()
        out.append(token)
    return (*out, _END)


def all_pep(versions: list[str]) -> bool:
    return all(pep(v) is not None for v in versions)


def key_function(pep440: bool) -> Any:
    """The sort key for a set of versions: PEP 440 when all of them parse, loose otherwise."""
    return pep if pep440 else loose


def compare(a: str, b: str) -> int:
    """-1, 0 or 1: ``a`` before, equal to or after ``b``."""
    pa, pb = pep(a), pep(b)
    if pa is not None and pb is not None:
        return (pa > pb) - (pa < pb)
    la, lb = loose(a), loose(b)
    return (la > lb) - (la < lb)
