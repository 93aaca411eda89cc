"""The table of breached passwords, stored as SHA-1 hashes split at the k-anonymity prefix."""

from __future__ import annotations

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from esante.core.db import Base


class BreachedHash(Base):
    """One SHA-1 seen in breaches: its 5-hex ``prefix`` (what a client sends), the 35-hex
    ``suffix`` (what the client compares locally) and how many times it was seen. The
    primary key leads with the prefix: a range is one index scan."""

    __tablename__ = "breached_passwords"

    prefix: Mapped[str] = mapped_column(String(5), primary_key=True)
    suffix: Mapped[str] = mapped_column(String(35), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
