"""Breached passwords by k-anonymity: a client sends the first 5 hex characters of a
password's SHA-1 and gets back every stored suffix of that range, padded with fake ones;
it compares suffixes itself. The password, or its full hash, never reaches the server.

The range format is that of "Have I Been Pwned" (``SUFFIX:COUNT`` per line, upper case),
padding included (its ``Add-Padding`` option: fake suffixes with a count of 0, so that
the size of an answer does not tell how many real matches it holds).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from random import Random

from sqlalchemy import select
from sqlalchemy.orm import Session

from esante.core.errors import Invalid
from esante.cyber.passwords.models import BreachedHash

PREFIX_LENGTH = 5
SUFFIX_LENGTH = 35
# Every answer holds between these many lines (HIBP pads to 800-1,000 likewise).
PAD_MIN = 800
PAD_MAX = 1000
_PREFIX = re.compile(r"^[0-9A-Fa-f]{5}$")

_system_random = secrets.SystemRandom()


def sha1_hex(password: str) -> str:
    return hashlib.sha1(password.encode("utf-8"), usedforsecurity=False).hexdigest().upper()


def normalise_prefix(prefix: str) -> str:
    if not _PREFIX.match(prefix):
        raise Invalid("préfixe invalide : 5 caractères hexadécimaux attendus (0-9, A-F)",
                      "invalid prefix: 5 hexadecimal characters expected", code="range-prefix")
    return prefix.upper()


def range_of(session: Session, prefix: str) -> dict[str, int]:
    """The stored suffixes of one range. The only query of the check: it receives the
    5-character prefix, nothing else."""
    prefix = normalise_prefix(prefix)
    found: dict[str, int] = {}
    for suffix, count in session.execute(select(BreachedHash.suffix, BreachedHash.count)
                                         .where(BreachedHash.prefix == prefix)):
        found[suffix] = count
    return found


def padded_range(session: Session, prefix: str, *, rng: Random | None = None,
                 ) -> list[tuple[str, int]]:
    """The range with fake suffixes (count 0) added up to a random size, sorted."""
    rng = rng or _system_random
    real = range_of(session, prefix)
    lines = dict(real)
    wanted = rng.randint(PAD_MIN, PAD_MAX)
    while len(lines) < wanted:
        fake = f"{rng.getrandbits(4 * SUFFIX_LENGTH):035X}"
        lines.setdefault(fake, 0)
    return sorted(lines.items())


def format_range(lines: list[tuple[str, int]]) -> str:
    return "".join(f"{suffix}:{count}\r\n" for suffix, count in lines)


def breach_count(session: Session, password: str) -> int:
    """How many times a password was seen in breaches, looked up as any client would:
    the hash is computed here, only its prefix goes to the lookup, suffixes compared here."""
    digest = sha1_hex(password)
    return range_of(session, digest[:PREFIX_LENGTH]).get(digest[PREFIX_LENGTH:], 0)
