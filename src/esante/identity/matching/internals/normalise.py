"""Trait normalisation for matching, and a French phonetic key.

Matching compares what a desk typed with what another desk typed: case, accents, hyphens,
apostrophes and double spaces must not count as differences. The phonetic key is a
simplified *Phonex*/*Soundex 2* for French spellings (``-EAU``/``-AU``/``-O``, ``PH``/``F``,
``C``/``K``/``QU``, silent final ``-T``/``-S``/``-D``/``-X``, ``-ER``/``-EZ``/``-ET``...), so
that ``FRANCOIS``/``FRANSOIS`` or ``THIBAULT``/``TIBAUT`` fall into the same block. English
keys (Soundex, Metaphone, NYSIIS) do not know these spellings.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_NOT_LETTER = re.compile(r"[^A-Z ]+")
_SPACES = re.compile(r" +")

# Order matters: longer groups first. Each pair is (regular expression, replacement).
_PHONETIC_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement) for pattern, replacement in (
        (r"^MAC", "MAK"),
        (r"^SAINT|^ST(?=[^AEIOUY])", "SIN"),
        (r"SCH|SH|CH", "S"),
        (r"PH", "F"),
        (r"TH", "T"),
        (r"GU(?=[EIY])", "G"),
        (r"QU|Q|CK|CC", "K"),
        (r"C(?=[EIY])", "S"),
        (r"C", "K"),
        (r"G(?=[EIY])", "J"),
        (r"X$", ""),
        (r"X", "KS"),
        (r"W", "V"),
        (r"Y", "I"),
        (r"Z(?!$)", "S"),
        (r"AU(?:LT|LD|D|T|X)$", "O"),
        (r"EAU|AU", "O"),
        (r"OU", "U"),
        (r"(?:AI|EI)N", "IN"),
        (r"AI|EI|Ë", "E"),
        (r"(?:E|A)[NM](?=[^AEIOUNM]|$)", "AN"),
        (r"[OU]N(?=[^AEIOUN]|$)", "ON"),
        (r"(?:ER|ET)$", "E"),
        (r"H", ""),
        (r"(?<=[AEIOU])S(?=[AEIOU])", "Z"),
        (r"[TDS]$", ""),
        (r"E$", ""),
        (r"(.)\1+", r"\1"),
    ))


@lru_cache(maxsize=200_000)
def normalise_name(value: str | None) -> str:
    """Upper case, no accents, letters and single spaces only (hyphens and apostrophes
    become spaces: ``Le Gall-Dupont`` → ``LE GALL DUPONT``)."""
    if not value:
        return ""
    text = unicodedata.normalize("NFKD", value.upper())
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.replace("Œ", "OE").replace("Æ", "AE").replace("ß", "SS")
    return _SPACES.sub(" ", _NOT_LETTER.sub(" ", text)).strip()


@lru_cache(maxsize=200_000)
def phonetic_key(value: str | None) -> str:
    """French phonetic key of a name (one word or several, spaces dropped)."""
    text = normalise_name(value).replace(" ", "")
    if not text:
        return ""
    for pattern, replacement in _PHONETIC_RULES:
        text = pattern.sub(replacement, text)
    return text or normalise_name(value)[:1]


def first_name_tokens(value: str | None) -> list[str]:
    """Birth first names as a list: ``Jean-Pierre, Marie`` → ``[JEAN, PIERRE, MARIE]``."""
    return normalise_name(value).split()


def digits(value: str | None) -> str:
    """A NIR as typed, spaces and dots removed (``2 79 03 51 215 189 89``)."""
    if not value:
        return ""
    return re.sub(r"[\s.\-]", "", value).upper()
