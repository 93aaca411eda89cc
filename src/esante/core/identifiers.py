"""French health identifiers used across domains: FINESS (establishments) and RPPS
(professionals), as validators and reusable annotated types for the API edge."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, StringConstraints
from stdnum import luhn
from stdnum.exceptions import ValidationError as StdnumError

from esante.core.errors import Invalid

_FINESS_RE = re.compile(r"^(\d{2}|2A|2B)\d{7}$")
_RPPS_RE = re.compile(r"^\d{11}$")


def _luhn_digits(value: str) -> str:
    # Corsican FINESS numbers start with 2A/2B; the key is computed on 20 (unconfirmed:
    # no public specification states it, see docs/roles.md).
    return value.replace("2A", "20", 1).replace("2B", "20", 1)


def finess_key(first_eight: str) -> str:
    """Check digit of a FINESS number (Luhn over the eight first characters)."""
    return luhn.calc_check_digit(_luhn_digits(first_eight))


def validate_finess(value: str) -> str:
    value = value.strip().upper()
    if not _FINESS_RE.match(value):
        raise Invalid(
            f"numéro FINESS invalide : 9 caractères attendus (chiffres, 2A ou 2B), reçu « {value[:20]} »",
            f"invalid FINESS number: 9 characters expected, got '{value[:20]}'",
            code="finess-format",
        )
    try:
        luhn.validate(_luhn_digits(value))
    except StdnumError:
        raise Invalid(
            f"numéro FINESS invalide : clé attendue {finess_key(value[:8])}, reçue {value[8]}",
            f"invalid FINESS number: check digit {finess_key(value[:8])} expected, got {value[8]}",
            code="finess-key",
        ) from None
    return value


def rpps_key(first_ten: str) -> str:
    return luhn.calc_check_digit(first_ten)


def validate_rpps(value: str) -> str:
    value = value.strip()
    if not _RPPS_RE.match(value):
        raise Invalid(
            "numéro RPPS invalide : 11 chiffres attendus",
            "invalid RPPS number: 11 digits expected",
            code="rpps-format",
        )
    try:
        luhn.validate(value)
    except StdnumError:
        raise Invalid(
            f"numéro RPPS invalide : clé attendue {rpps_key(value[:10])}, reçue {value[10]}",
            f"invalid RPPS number: check digit {rpps_key(value[:10])} expected, got {value[10]}",
            code="rpps-key",
        ) from None
    return value


def _pydantic(check):
    def run(value: str) -> str:
        try:
            return check(value)
        except Invalid as exc:
            # Pydantic reports ValueError as a field error with this text.
            raise ValueError(f"{exc.fr} / {exc.en}") from None

    return run


Finess = Annotated[str, StringConstraints(max_length=12), AfterValidator(_pydantic(validate_finess))]
Rpps = Annotated[str, StringConstraints(max_length=14), AfterValidator(_pydantic(validate_rpps))]
