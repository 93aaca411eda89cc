"""Comparison levels of a pair of prepared records, as DuckDB SQL over ``a`` and ``b``.

One SQL expression per comparison gives the pair's *level* (0 = strongest agreement,
-1 = a trait missing on either side, which weighs nothing). The batch engine and
``score_pair`` run the very same expressions, so a rule has one implementation.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Comparison:
    """A trait compared across a pair, its level expression and the names of its levels."""

    name: str
    sql: str
    levels: tuple[str, ...]


# NIR: the 13 digits before the key are compared, so that a wrong key still agrees; a NIR
# whose sex/year/month contradict the record's own traits is someone else's (a sibling's,
# a parent's) and agreement on it proves little; two different NIRs that both have a valid
# key and match their own record's traits are strong evidence of two people.
NIR = Comparison("nir", """CASE
    WHEN a.nir13 IS NULL OR b.nir13 IS NULL THEN -1
    WHEN a.nir13 = b.nir13 AND a.nir_traits_ok AND b.nir_traits_ok
         THEN CASE WHEN a.nir = b.nir AND a.nir_key_ok THEN 0 ELSE 1 END
    WHEN a.nir13 = b.nir13 THEN 2
    WHEN a.nir_key_ok AND b.nir_key_ok AND a.nir_traits_ok AND b.nir_traits_ok THEN 3
    ELSE 4 END""", ("identique", "clé erronée", "NIR d'un tiers (traits incohérents)",
                   "deux NIR fiables différents", "différent"))

# Birth date: a day/month swap (03/04 typed 04/03) is its own level, as is a single typo in
# one part of the date.
BIRTH_DATE = Comparison("birth_date", """CASE
    WHEN a.dob IS NULL OR b.dob IS NULL THEN -1
    WHEN a.dob = b.dob THEN 0
    WHEN a.y = b.y AND a.d = b.m AND a.m = b.d THEN 1
    WHEN (a.y = b.y)::INT + (a.m = b.m)::INT + (a.d = b.d)::INT = 2 THEN 2
    ELSE 3 END""", ("identique", "jour et mois inversés", "une partie différente", "différente"))

# Names are compared without their separators first (``LE GALL``, ``LE-GALL``, ``LEGALL``).
# Birth name: compared with its spelling variants, then across birth and used names (a desk
# that typed the used name as the birth name), and token by token (compound names).
BIRTH_NAME = Comparison("birth_name", """CASE
    WHEN a.bn IS NULL OR b.bn IS NULL THEN -1
    WHEN a.bn_c = b.bn_c THEN 0
    WHEN a.bn_ph = b.bn_ph OR jaro_winkler_similarity(a.bn_c, b.bn_c) >= 0.92 THEN 1
    WHEN a.bn_c = b.un_c OR a.un_c = b.bn_c OR a.un_c = b.un_c
         OR list_has_all(a.bn_tokens, b.bn_tokens) OR list_has_all(b.bn_tokens, a.bn_tokens) THEN 2
    WHEN jaro_winkler_similarity(a.bn, b.bn) >= 0.80 THEN 3
    ELSE 4 END""", ("identique", "variante d'orthographe", "nom d'usage ou nom composé",
                   "proche", "différent"))

# First names: the list of birth first names, then the first one, then any in common
# (swapped order, compound first names, a missing second name, a dropped hyphen), then a
# spelling variant, then close names: only first names with nothing in common say "twins".
FIRST_NAMES = Comparison("first_names", """CASE
    WHEN a.f1 IS NULL OR b.f1 IS NULL THEN -1
    WHEN a.fn_c = b.fn_c THEN 0
    WHEN a.f1 = b.f1 THEN 1
    WHEN list_has_any(a.fn_tokens, b.fn_tokens) OR starts_with(a.fn_c, b.f1) OR starts_with(b.fn_c, a.f1)
         THEN 2
    WHEN a.f1_ph = b.f1_ph OR jaro_winkler_similarity(a.f1, b.f1) >= 0.90 THEN 3
    WHEN jaro_winkler_similarity(a.f1, b.f1) >= 0.80 THEN 4
    ELSE 5 END""", ("liste identique", "premier prénom identique", "un prénom en commun",
                   "variante d'orthographe", "proches", "sans rien en commun"))

# Used names: two different used names, both given, are mild evidence of two people
# (homonyms born the same day have their own marriages).
USED_NAME = Comparison("used_name", """CASE
    WHEN a.un_c IS NULL OR b.un_c IS NULL THEN -1
    WHEN a.un_c = b.un_c OR jaro_winkler_similarity(a.un_c, b.un_c) >= 0.92 THEN 0
    ELSE 1 END""", ("identique ou variante", "différent"))

SEX = Comparison("sex", """CASE
    WHEN a.sex IS NULL OR b.sex IS NULL THEN -1
    WHEN a.sex = b.sex THEN 0 ELSE 1 END""", ("identique", "différent"))

BIRTH_PLACE = Comparison("birth_place", """CASE
    WHEN a.place IS NULL OR b.place IS NULL THEN -1
    WHEN a.place = b.place THEN 0
    WHEN a.dept = b.dept THEN 1
    ELSE 2 END""", ("identique", "même département ou pays", "différent"))

COMPARISONS: tuple[Comparison, ...] = (NIR, BIRTH_DATE, BIRTH_NAME, FIRST_NAMES, USED_NAME, SEX,
                                       BIRTH_PLACE)

# Twins: same birth date, same family name (or a spelling variant), and first birth first
# names that differ: neither one is in the other's list (nor starts it, for a compound first
# name), and they are not even close (same phonetic code, Jaro-Winkler >= 0.80: a desk's
# typo of a short first name lands there; the benchmark lost recall at 0.90). A later first name in common
# does not help (twins often share a middle name: LEA ANNE / LOUISE ANNE); a swapped or
# missing first name does (JEANNE MARIE / MARIE JEANNE is one person). The Fellegi-Sunter
# sum would merge them (date and name outweigh the first names); the rule says they are two
# people, whatever the weights. This is the one statement of the rule: the desk's duplicate
# candidates (``identity.duplicates``) take it from the engine (``matching.twins``).
TWIN_FIRST_SQL = """coalesce(NOT (list_contains(b.fn_tokens, a.f1) OR list_contains(a.fn_tokens, b.f1)
    OR starts_with(a.fn_c, b.f1) OR starts_with(b.fn_c, a.f1) OR a.f1_ph = b.f1_ph
    OR jaro_winkler_similarity(a.f1, b.f1) >= 0.80), false)"""
TWIN_RULE = "(g_birth_date = 0 AND g_birth_name IN (0, 1) AND g_first_names >= 2 AND twin_first)"
# Two NIRs that both have a valid key and agree with their own record's traits: two people
# (homonyms born the same day), whatever the other traits say.
NIR_CONFLICT_RULE = "(g_nir = 3)"


def levels_sql() -> str:
    """The level columns ``g_<name>`` of a pair whose sides are aliased ``a`` and ``b``."""
    return ",\n    ".join(f"({c.sql})::TINYINT AS g_{c.name}" for c in COMPARISONS)
