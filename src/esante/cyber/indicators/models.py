"""Tables of indicator sharing: events, their indicators, named recipients, sightings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from esante.core.db import Base, utcnow


class IocEvent(Base):
    """A shared event: what was seen, under which TLP and PAP, meant for whom."""

    __tablename__ = "cyber_ioc_events"
    __table_args__ = (Index("ix_cyber_ioc_events_scope", "scope", "tlp"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    tlp: Mapped[str] = mapped_column(String(12))  # clear, green, amber, amber+strict, red
    pap: Mapped[str] = mapped_column(String(6), default="amber")  # clear, green, amber, red
    # national, region, ght, establishment, organisations
    scope: Mapped[str] = mapped_column(String(20))
    scope_region: Mapped[str | None] = mapped_column(String(2), index=True)
    scope_ght_id: Mapped[int | None] = mapped_column(ForeignKey("ghts.id"), index=True)
    scope_finess: Mapped[str | None] = mapped_column(String(9), index=True)
    # Who shares it: an establishment (its FINESS) or the national cell (None).
    source_finess: Mapped[str | None] = mapped_column(String(9), index=True)
    source_label: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(12), default="published")  # or withdrawn
    expires_at: Mapped[datetime | None]
    phishing_report_id: Mapped[int | None] = mapped_column(index=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IocEventRecipient(Base):
    """A named organisation of an event shared with ``organisations`` scope."""

    __tablename__ = "cyber_ioc_event_recipients"
    __table_args__ = (UniqueConstraint("event_id", "finess"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("cyber_ioc_events.id", ondelete="CASCADE"),
                                          index=True)
    finess: Mapped[str] = mapped_column(String(9), index=True)


class Indicator(Base):
    """One observable of an event, its value normalised (lower case, no trailing dot)."""

    __tablename__ = "cyber_ioc_indicators"
    __table_args__ = (UniqueConstraint("event_id", "kind", "value"),
                      Index("ix_cyber_ioc_indicators_kind_value", "kind", "value"))

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("cyber_ioc_events.id", ondelete="CASCADE"),
                                          index=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    kind: Mapped[str] = mapped_column(String(10))  # ip, domain, url, email, md5, sha1, sha256
    value: Mapped[str] = mapped_column(String(2048))
    comment: Mapped[str] = mapped_column(String(500), default="")
    to_ids: Mapped[bool] = mapped_column(Boolean, default=True)
    warning: Mapped[str | None] = mapped_column(String(100))  # the warning list it hits
    expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Sighting(Base):
    """An establishment saw an indicator (``seen``) or found it benign (``false_positive``)."""

    __tablename__ = "cyber_ioc_sightings"

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_id: Mapped[int] = mapped_column(
        ForeignKey("cyber_ioc_indicators.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # seen, false_positive
    finess: Mapped[str | None] = mapped_column(String(9), index=True)
    source: Mapped[str] = mapped_column(String(20), default="manual")  # manual, logs, phishing
    note: Mapped[str] = mapped_column(String(500), default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
