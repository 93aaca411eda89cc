"""The anonymisation check of a lesson before publication.

A lesson is refused while its text holds an e-mail address, an IPv4/IPv6 address, a FINESS
number (one the platform knows, or any nine characters with a valid key), the name of an
establishment or of a platform user, or a person-name pattern: a civility or title
("M. Dupont", "Mme", "Dr", "Docteur Martin") or a usual French first name followed by a
surname ("Jean Dupont", "DUPONT Jean"; the first names are a data file shipped with the
package, ``data/prenoms.txt``).

What the database knows is passed in as a ``Known``; this module never queries it, so the
rules are tested without one. IP addresses are confirmed with ``ipaddress`` and FINESS keys
with ``esante.core.identifiers`` (python-stdnum's Luhn)."""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources

from esante.core.errors import Invalid
from esante.core.identifiers import validate_finess

KIND_LABELS = {
    "email": "adresse e-mail",
    "ip": "adresse IP",
    "finess": "numéro FINESS",
    "establishment": "nom d'établissement",
    "user": "nom d'un utilisateur de la plateforme",
    "person": "nom de personne",
}

_UPPER = "A-ZÀ-ÖØ-ÞŒ"
_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\w|\.\d)")
_IPV6 = re.compile(r"(?<![\w:.])[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(?:%\w+)?")
_FINESS = re.compile(r"(?<!\w)(?:\d{2}|2[AaBb])\d{7}(?!\w)")
_WORD = re.compile(r"\w+")
# Abbreviated civilities and titles only ever name a person, even alone.
_CIVILITY_ALONE = re.compile(r"(?<![\w.])(?:Mmes?|Mlles?|Melle|Drs?|Pr)(?:\.|(?![\w]))")
# "M." and the civilities written in full name a person when a capitalised word follows.
_CIVILITY_NAME = re.compile(
    rf"(?<![\w.])(?:MM?\.|(?i:monsieur|madame|mademoiselle|docteur|professeur|maître|maitre))"
    rf"\s+[{_UPPER}][\w'’-]*")
MIN_NAME_CHARS = 6


@dataclass(frozen=True)
class Finding:
    kind: str
    field: str  # the field's French label
    line: int
    excerpt: str

    def describe(self) -> str:
        return f"{KIND_LABELS[self.kind]} « {self.excerpt} » ({self.field}, ligne {self.line})"


@dataclass(frozen=True)
class Known:
    """What the platform knows: FINESS numbers among the candidates, and names (each a
    tuple of normalised words)."""

    finess: frozenset[str]
    establishment_names: frozenset[tuple[str, ...]]
    user_names: frozenset[tuple[str, ...]]


def normalise(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def words(text: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(normalise(text)))


def name_key(name: str, *, min_words: int = 1) -> tuple[str, ...] | None:
    """The words a name is searched by, or None when it is too short to search safely."""
    key = words(name)
    if len(key) < min_words or len(" ".join(key)) < MIN_NAME_CHARS:
        return None
    return key


@cache
def first_names() -> frozenset[str]:
    text = resources.files("esante.cyber.lessons").joinpath("data/prenoms.txt").read_text(
        encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines()
                     if line.strip() and not line.startswith("#"))


@cache
def _first_name_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    names = "|".join(re.escape(n) for n in sorted(first_names(), key=len, reverse=True))
    given_then_surname = re.compile(
        rf"(?<![\w'’-])(?:{names})(?![\w-])\s+[{_UPPER}][\w'’-]+")
    surname_then_given = re.compile(
        rf"(?<![\w'’-])[{_UPPER}]{{2,}}(?:-[{_UPPER}]{{2,}})?\s+(?:{names})(?![\w-])")
    return given_then_surname, surname_then_given


def finess_candidates(texts: Iterable[str]) -> set[str]:
    return {m.group(0).upper() for t in texts for m in _FINESS.finditer(t)}


def _line(text: str, at: int) -> int:
    return text.count("\n", 0, at) + 1


def _valid_ip(candidate: str, version: int) -> bool:
    candidate = candidate.split("%")[0].rstrip(".:") if version == 6 else candidate
    try:
        return ipaddress.ip_address(candidate).version == version
    except ValueError:
        return False


def _valid_finess(candidate: str) -> bool:
    try:
        validate_finess(candidate)
    except Invalid:
        return False
    return True


def _patterns(text: str, known: Known) -> Iterable[tuple[str, int, str]]:
    """(kind, offset, excerpt) for every pattern found in one text."""
    for m in _EMAIL.finditer(text):
        yield "email", m.start(), m.group(0)
    for m in _IPV4.finditer(text):
        if _valid_ip(m.group(0), 4):
            yield "ip", m.start(), m.group(0)
    for m in _IPV6.finditer(text):
        if m.group(0).count(":") >= 2 and _valid_ip(m.group(0), 6):
            yield "ip", m.start(), m.group(0).rstrip(".")
    for m in _FINESS.finditer(text):
        value = m.group(0).upper()
        if value in known.finess or _valid_finess(value):
            yield "finess", m.start(), m.group(0)
    for pattern in (_CIVILITY_NAME, _CIVILITY_ALONE, *_first_name_patterns()):
        for m in pattern.finditer(text):
            yield "person", m.start(), m.group(0)


def _names(text: str, names: frozenset[tuple[str, ...]], kind: str) -> Iterable[
        tuple[str, int, str]]:
    if not names:
        return
    tokens = [(normalise(m.group(0)), m.start(), m.end()) for m in _WORD.finditer(text)]
    sizes = sorted({len(n) for n in names})
    for i in range(len(tokens)):
        for size in sizes:
            if i + size > len(tokens):
                break
            key = tuple(t for t, _, _ in tokens[i:i + size])
            if key in names:
                yield kind, tokens[i][1], text[tokens[i][1]:tokens[i + size - 1][2]]


def scan(fields: dict[str, str], known: Known) -> list[Finding]:
    """Every finding in the given fields (label → text), in reading order, each reported
    once per place."""
    out: list[Finding] = []
    for label, text in fields.items():
        seen: set[tuple[str, int]] = set()
        hits = [*_patterns(text, known),
                *_names(text, known.establishment_names, "establishment"),
                *_names(text, known.user_names, "user")]
        for kind, at, excerpt in sorted(hits, key=lambda h: h[1]):
            if (kind, at) in seen:
                continue
            seen.add((kind, at))
            out.append(Finding(kind, label, _line(text, at), excerpt.strip()[:80]))
    return out


def refusal(findings: list[Finding]) -> Invalid:
    shown = "; ".join(f.describe() for f in findings[:10])
    more = f" (et {len(findings) - 10} autre(s))" if len(findings) > 10 else ""
    kinds = sorted({f.kind for f in findings})
    return Invalid(f"texte non anonymisé, publication refusée : {shown}{more}",
                   f"the text is not anonymised: {', '.join(kinds)}", code="not-anonymised",
                   findings=" | ".join(f.describe() for f in findings))
