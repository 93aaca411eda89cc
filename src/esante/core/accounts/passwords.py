"""Password hashing (argon2id) and the password policy (length, zxcvbn, common lists)."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from esante.core.errors import Invalid
from esante.core.settings import get_settings

MIN_LENGTH = 12
MAX_LENGTH = 256
MIN_SCORE = 3  # zxcvbn: "safely unguessable" (about 10^8 guesses)
COMMON_TOP = 100_000


@lru_cache
def hasher() -> PasswordHasher:
    s = get_settings()
    return PasswordHasher(time_cost=s.argon2_time_cost, memory_cost=s.argon2_memory_kib)


@lru_cache
def _common() -> frozenset[str]:
    return frozenset(FREQUENCY_LISTS["passwords"][:COMMON_TOP])


def check_policy(password: str, *, user_inputs: list[str] | None = None) -> None:
    if len(password) < MIN_LENGTH:
        raise Invalid(
            f"mot de passe trop court : {MIN_LENGTH} caractères au moins",
            f"password too short: at least {MIN_LENGTH} characters",
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
    result = zxcvbn(password[:100], user_inputs=user_inputs or [])
    if result["score"] < MIN_SCORE:
        raise Invalid(
            "mot de passe trop facile à deviner : allongez-le ou mélangez des mots sans lien",
            "password too easy to guess",
            code="password-weak",
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
