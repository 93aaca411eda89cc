"""NIR and NIA: format, key and meaning, and the annotated types for the API edge.

``python-stdnum`` (``stdnum.fr.nir``) computes the key (with Corsica 2A → 19, 2B → 18);
the meaning checks it lacks are here: the sex digit, the month (pseudo-months 20-42 and 50+
are warnings: they exist for people whose birth month is unknown or whose civil status was
incomplete), the department or country, and the commune, against the shipped COG.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, StringConstraints
from stdnum.fr import nir as stdnir

from esante.core.errors import Invalid
from esante.identity import cog

_FORMAT = re.compile(r"^[0-9](\d{2})(\d{2})(\d{2}|2A|2B)(\d{3})(\d{3})(\d{2})$")
SEX_DIGITS = {"1": ("M", "NIR"), "2": ("F", "NIR"), "7": ("M", "NIA"), "8": ("F", "NIA"),
              "3": ("M", "temporaire"), "4": ("F", "temporaire")}
SEX_LABELS = {"M": "masculin", "F": "féminin"}


@dataclass
class NirReport:
    """What a matricule encodes, with the errors that make it invalid and the warnings."""

    value: str
    kind: str = ""  # NIR, NIA, temporaire
    sex: str = ""
    birth_year: str = ""  # two digits: the century is not encoded
    birth_month: int = 0
    pseudo_month: bool = False
    place_code: str = ""
    place: str = ""
    born_abroad: bool = False
    order: str = ""
    key: str = ""
    expected_key: str = ""
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def matricule(self) -> str:
        """The 13 characters without the key."""
        return self.value[:13]

    def lines(self) -> list[str]:
        """What it encodes, in French, one fact a line."""
        out = [f"{self.kind} {self.value}",
               f"sexe : {SEX_LABELS.get(self.sex, '?')} (chiffre {self.value[:1]})",
               f"année de naissance : {self.birth_year} (siècle non codé)"]
        month = (f"{self.birth_month:02d} (pseudo-mois : mois de naissance inconnu ou "
                 "état civil incomplet)" if self.pseudo_month else f"{self.birth_month:02d}")
        out += [f"mois de naissance : {month}",
                f"lieu de naissance : {self.place or self.place_code}",
                f"numéro d'ordre : {self.order}", f"clé : {self.key}"]
        return out


def key_of(thirteen: str) -> str:
    """The two-digit key of 13 characters (97 − n mod 97, Corsica handled)."""
    return str(stdnir.calc_check_digits(thirteen.upper()))


def _clean(value: str) -> str:
    return re.sub(r"[\s.\-]", "", value).upper()


def check(value: str, *, from_directory: bool = False) -> NirReport:
    """Every check of a NIR or NIA; never raises. ``from_directory``: a matricule returned by
    the reference directory, whose bad key is a warning (one official test persona has
    one), never an error."""
    v = _clean(value)
    report = NirReport(value=v)
    m = _FORMAT.match(v)
    if len(v) != 15:
        report.errors.append(f"15 caractères attendus, reçu {len(v)}")
        return report
    if not m:
        report.errors.append("format invalide : 15 chiffres attendus (2A ou 2B possibles en "
                             "6e-7e position pour la Corse)")
        return report
    year, month, _dept, _commune, order, key = m.groups()
    report.birth_year, report.order, report.key = year, order, key
    sex = SEX_DIGITS.get(v[0])
    if sex is None:
        report.errors.append(f"premier chiffre (sexe) {v[0]} inconnu : 1 ou 2 (NIR), "
                             "7 ou 8 (NIA) attendu")
    else:
        report.sex, report.kind = sex
        if report.kind == "temporaire":
            report.warnings.append("numéro temporaire (3 ou 4) : ce n'est pas un INS")
    _check_month(report, int(month))
    _check_place(report, v[5:10])
    report.expected_key = key_of(v[:13])
    if report.expected_key != key:
        message = f"clé attendue {report.expected_key}, reçue {key}"
        (report.warnings if from_directory else report.errors).append(message)
    return report


def _check_month(report: NirReport, month: int) -> None:
    report.birth_month = month
    if 1 <= month <= 12:
        return
    if 20 <= month <= 42 or month >= 50:
        report.pseudo_month = True
        report.warnings.append(f"mois {month:02d} : pseudo-mois (mois de naissance inconnu ou "
                               "état civil incomplet)")
        return
    report.errors.append(f"mois {month:02d} impossible : 01 à 12 (ou pseudo-mois 20 à 42, "
                         "50 et plus) attendu")


def _check_place(report: NirReport, code: str) -> None:
    report.place_code = code
    data = cog.load()
    if code.startswith("99"):
        report.born_abroad = True
        country = data.country(code)
        if country is None:
            report.errors.append(f"pays de naissance {code} inconnu du COG")
        else:
            report.place = country.label
        return
    dept = code[:3] if code[:2] in ("97", "98") else code[:2]
    if data.department(dept) is None:
        report.errors.append(f"département de naissance {dept} inconnu du COG")
        return
    commune = data.commune(code)
    if commune is None:
        # The shipped history is partial (see cog.py): a warning, not an error.
        report.warnings.append(f"commune {code} inconnue du COG embarqué "
                               f"(département {dept} : {data.department(dept)})")
        report.place = f"commune {code}, département {data.department(dept)}"
    else:
        report.place = commune.label


def validate(value: str, *, kinds: tuple[str, ...] = ("NIR", "NIA")) -> str:
    """The cleaned matricule (15 characters), or a precise ``Invalid``."""
    report = check(value)
    if report.errors:
        raise Invalid(f"matricule INS invalide : {report.errors[0]}",
                      f"invalid INS matricule: {report.errors[0]}", code="nir-invalid")
    if report.kind not in kinds:
        raise Invalid(f"matricule INS invalide : un {' ou un '.join(kinds)} est attendu, "
                      f"reçu un numéro {report.kind}", "invalid INS matricule",
                      code="nir-kind")
    return report.value


def _as_str(value: object) -> object:
    return _clean(value) if isinstance(value, str) else value


def _field(kinds: tuple[str, ...]) -> Callable[[str], str]:
    def run(value: str) -> str:
        try:
            return validate(value, kinds=kinds)
        except Invalid as exc:  # Pydantic reports a ValueError as a field error
            raise ValueError(exc.fr) from None

    return run


# The reusable types of the API edge: a NIR or NIA with every check above.
InsMatricule = Annotated[str, StringConstraints(max_length=24), BeforeValidator(_as_str),
                         AfterValidator(_field(("NIR", "NIA")))]
Nir = Annotated[str, StringConstraints(max_length=24), BeforeValidator(_as_str),
                AfterValidator(_field(("NIR",)))]
