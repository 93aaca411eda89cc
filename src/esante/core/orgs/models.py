"""Organisations: regions with their health agency (ARS), hospital groups (GHT) and
health establishments identified by FINESS."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from esante.core.db import Base, utcnow


class Region(Base):
    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(String(2), primary_key=True)  # INSEE region code
    name: Mapped[str] = mapped_column(String(80))
    agency_name: Mapped[str] = mapped_column(String(120))


class Ght(Base):
    """Groupement hospitalier de territoire."""

    __tablename__ = "ghts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(160), unique=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)


class Establishment(Base):
    __tablename__ = "establishments"

    id: Mapped[int] = mapped_column(primary_key=True)
    finess: Mapped[str] = mapped_column(String(9), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(20), index=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    department: Mapped[str] = mapped_column(String(3), index=True)
    town: Mapped[str] = mapped_column(String(100), default="")
    ght_id: Mapped[int | None] = mapped_column(ForeignKey("ghts.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
