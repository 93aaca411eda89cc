"""Password hashing (argon2id) and the password policy: length, common lists, breached
passwords (looked up by k-anonymity), zxcvbn strength. Following ANSSI's guidance, the
policy asks for length and strength and never forces a periodic change; its thresholds are
settings (``ESANTE_PASSWORD_MIN_LENGTH``, ``..._MIN_SCORE``, ``..._BREACH_CHECK``)."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from esante.core.errors import Invalid
from esante.core.settings import get_settings

MAX_LENGTH = 256
COMMON_TOP = 100_000


@lru_cache
def hasher() -> PasswordHasher:
    s = get_settings()
    return PasswordHasher(time_cost=s.argon2_time_cost, memory_cost=s.argon2_memory_kib)


@lru_cache
def _common() -> frozenset[str]:
    return frozenset(FREQUENCY_LISTS["passwords"][:COMMON_TOP])


def check_policy(password: str, *, user_inputs: list[str] | None = None,
                 session: Session | None = None) -> None:
    """Refuses a password the policy does not accept (``Invalid``, a French message). With a
    ``session``, a password seen in breaches is refused too (when the check is on)."""
    settings = get_settings()
    min_length = settings.password_min_length
    if len(password) < min_length:
        raise Invalid(
            f"mot de passe trop court : {min_length} caractères au moins",
            f"password too short: at least {min_length} characters",
            code="password-too-short",
        )
    if len(password) > MAX_LENGTH:
        raise Invalid("mot de passe trop long", "password too long", code="password-too-long")
    if password.lower() in _common():
        raise Invalid(
            "ce mot de passe figure parmi les plus courants",
            "this password is among the most common ones",
            code="password-common",
        )
    if session is not None and settings.password_breach_check:
        _refuse_breached(session, password)
    result = zxcvbn(password[:100], user_inputs=user_inputs or [])
    if result["score"] < settings.password_min_score:
        raise Invalid(
            "mot de passe trop facile à deviner : allongez-le ou mélangez des mots sans lien",
            "password too easy to guess",
            code="password-weak",
        )


def _refuse_breached(session: Session, password: str) -> None:
    # The cyber domain owns the breached-hash table; the lookup is the same k-anonymity
    # one the range API serves (only the SHA-1 prefix reaches the query).
    from esante.cyber.passwords.service import breach_count

    if breach_count(session, password) > 0:
        raise Invalid(
            "ce mot de passe figure dans des fuites de données connues : choisissez-en un autre",
            "this password appears in known data breaches",
            code="password-breached",
        )


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return hasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return hasher().check_needs_rehash(stored)
