"""Identity traits and their normalisation by the RNIV rules.

Upper case, accents removed, letters A-Z with hyphen, apostrophe and space as the only
separators; first names a space-separated list whose first item is the first birth first
name, compound first names keeping their hyphen (``PIERRE-ALAIN``); the used name and used
first name kept apart from the birth name. Traits returned by the reference directory are
never altered: ``normalise`` is not applied to them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date

from esante.core.errors import Invalid

_LIGATURES = str.maketrans({"Œ": "OE", "œ": "OE", "Æ": "AE", "æ": "AE", "ß": "SS",
                            "’": "'", "‘": "'", "ʼ": "'", "`": "'", "´": "'",
                            "‐": "-", "‑": "-", "–": "-", "—": "-"})
_ALLOWED = re.compile(r"^[A-Z' -]*$")
_SEPARATOR_RUNS = re.compile(r"\s+")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
SEXES = {"M": "masculin", "F": "féminin"}
MAX_NAME = 100


def normalise_name(value: str, *, what: str = "nom") -> str:
    """One name by the RNIV rules, or a precise ``Invalid`` naming the bad character."""
    text = unicodedata.normalize("NFKD", value.translate(_LIGATURES))
    text = "".join(c for c in text if not unicodedata.combining(c)).upper()
    text = _SEPARATOR_RUNS.sub(" ", text).strip(" -'")
    text = re.sub(r" ?- ?", "-", text)
    text = re.sub(r" ?' ?", "'", text)
    for i, char in enumerate(text):
        if not _ALLOWED.match(char):
            raise Invalid(f"{what} : caractère « {char} » non autorisé (position {i + 1}) ; "
                          "lettres, trait d'union, apostrophe et espace seulement",
                          f"{what}: character '{char}' not allowed", code="trait-character")
    if len(text) > MAX_NAME:
        raise Invalid(f"{what} : {MAX_NAME} caractères au plus", f"{what}: too long",
                      code="trait-length")
    return text


def normalise_first_names(values: list[str] | str) -> list[str]:
    """The list of birth first names, each normalised; a compound name keeps its hyphen."""
    items = values.split(" ") if isinstance(values, str) else values
    out = [normalise_name(v, what="prénom") for v in items]
    return [v for v in out if v]


def parse_birth_date(value: str) -> str:
    """``YYYY-MM-DD``; day or month ``00`` when unknown (the RNIV allows it)."""
    m = _DATE.match(value.strip())
    if not m:
        raise Invalid(f"date de naissance « {value[:20]} » : format AAAA-MM-JJ attendu",
                      "birth date: YYYY-MM-DD expected", code="birth-date")
    year, month, day = (int(x) for x in m.groups())
    if month == 0 and day != 0:
        raise Invalid("date de naissance : jour connu mais mois inconnu",
                      "birth date: day without month", code="birth-date")
    try:
        date(year, month or 1, day or 1)
    except ValueError:
        raise Invalid(f"date de naissance {value} impossible", "impossible birth date",
                      code="birth-date") from None
    if (year, month or 1, day or 1) > date.today().timetuple()[:3] or year < 1880:
        raise Invalid(f"date de naissance {value} hors limites (1880 à aujourd'hui)",
                      "birth date out of range", code="birth-date")
    return value.strip()


@dataclass(frozen=True)
class Traits:
    """The five INS traits, plus the used name and used first name."""

    birth_name: str
    first_names: list[str]
    sex: str  # M, F
    birth_date: str  # YYYY-MM-DD, 00 for unknown parts
    birth_place: str = ""  # INSEE COG code: commune, or 99xxx for a country
    used_name: str = ""
    used_first_name: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def first_name(self) -> str:
        return self.first_names[0] if self.first_names else ""

    @property
    def first_names_text(self) -> str:
        return " ".join(self.first_names)


def normalise(traits: Traits, *, from_directory: bool = False) -> Traits:
    """Traits by the RNIV rules; those of the reference directory are returned untouched."""
    if from_directory:
        return traits
    first_names = normalise_first_names(traits.first_names)
    birth_name = normalise_name(traits.birth_name, what="nom de naissance")
    if not birth_name:
        raise Invalid("nom de naissance obligatoire", "birth name required", code="trait-missing")
    if not first_names:
        raise Invalid("au moins un prénom de naissance", "a first name is required",
                      code="trait-missing")
    sex = traits.sex.strip().upper()[:1]
    if sex not in SEXES:
        raise Invalid("sexe : M ou F attendu", "sex: M or F expected", code="trait-sex")
    used_first = normalise_name(traits.used_first_name, what="prénom utilisé")
    return replace(
        traits, birth_name=birth_name, first_names=first_names, sex=sex,
        birth_date=parse_birth_date(traits.birth_date),
        birth_place=traits.birth_place.strip().upper(),
        used_name=normalise_name(traits.used_name, what="nom utilisé"),
        used_first_name=used_first)


def name_key(name: str) -> str:
    """A blocking key for a name: its first four letters, separators removed."""
    return re.sub(r"[^A-Z]", "", name)[:4]
