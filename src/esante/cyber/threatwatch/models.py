"""Tables of the threat watch: installed products (inventories), advisories and the
products they affect, alerts of affected establishments and their follow-up."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from esante.core.db import Base, utcnow


class InstalledProduct(Base):
    """One product an establishment runs, as a CPE 2.3 name (vendor, product, version
    are copies of its attributes, for matching)."""

    __tablename__ = "cyber_tw_products"
    __table_args__ = (UniqueConstraint("establishment_id", "cpe"),
                      Index("ix_cyber_tw_products_key", "part", "vendor", "product"))

    id: Mapped[int] = mapped_column(primary_key=True)
    establishment_id: Mapped[int] = mapped_column(ForeignKey("establishments.id"), index=True)
    cpe: Mapped[str] = mapped_column(String(1000))
    part: Mapped[str] = mapped_column(String(1))
    vendor: Mapped[str] = mapped_column(String(200))
    product: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(200))  # unescaped; * when not declared
    label: Mapped[str] = mapped_column(String(300), default="")
    source: Mapped[str] = mapped_column(String(20))  # form, csv, cyclonedx, demo
    added_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class Advisory(Base):
    """A security advisory of the national cell."""

    __tablename__ = "cyber_tw_advisories"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(120), unique=True)
    revision: Mapped[str] = mapped_column(String(40), default="1")
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    cve_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    cvss_vector: Mapped[str | None] = mapped_column(String(300))
    cvss_score: Mapped[Decimal | None] = mapped_column(Numeric(3, 1))
    severity: Mapped[str | None] = mapped_column(String(10))
    recommendations: Mapped[str] = mapped_column(Text, default="")
    references: Mapped[list[str]] = mapped_column(JSON, default=list)
    tlp: Mapped[str] = mapped_column(String(12))
    source: Mapped[str] = mapped_column(String(10))  # form, csaf
    status: Mapped[str] = mapped_column(String(10), default="open", index=True)  # or closed
    published_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class AffectedProduct(Base):
    """A product an advisory affects: one version, or a range of versions."""

    __tablename__ = "cyber_tw_affected"
    __table_args__ = (Index("ix_cyber_tw_affected_key", "part", "vendor", "product"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    advisory_id: Mapped[int] = mapped_column(
        ForeignKey("cyber_tw_advisories.id", ondelete="CASCADE"), index=True)
    cpe: Mapped[str] = mapped_column(String(1000))
    part: Mapped[str] = mapped_column(String(1))
    vendor: Mapped[str] = mapped_column(String(200))
    product: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(200), default="*")
    start_including: Mapped[str | None] = mapped_column(String(200))
    start_excluding: Mapped[str | None] = mapped_column(String(200))
    end_including: Mapped[str | None] = mapped_column(String(200))
    end_excluding: Mapped[str | None] = mapped_column(String(200))


class Alert(Base):
    """An advisory that reaches an establishment, and where the establishment stands."""

    __tablename__ = "cyber_tw_alerts"
    __table_args__ = (UniqueConstraint("advisory_id", "establishment_id"),
                      Index("ix_cyber_tw_alerts_advisory_status", "advisory_id", "status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    advisory_id: Mapped[int] = mapped_column(
        ForeignKey("cyber_tw_advisories.id", ondelete="CASCADE"))
    establishment_id: Mapped[int] = mapped_column(ForeignKey("establishments.id"), index=True)
    # Snapshots of where the establishment sits, which the access rules read.
    finess: Mapped[str] = mapped_column(String(9), index=True)
    region_code: Mapped[str] = mapped_column(String(2), index=True)
    # new, acknowledged, patched, not_affected, accepted_risk
    status: Mapped[str] = mapped_column(String(20), default="new")
    note: Mapped[str] = mapped_column(Text, default="")
    matched: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # cpe, version
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class AlertEvent(Base):
    """The follow-up of an alert: each change of status, with its note."""

    __tablename__ = "cyber_tw_alert_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("cyber_tw_alerts.id", ondelete="CASCADE"),
                                          index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_label: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
