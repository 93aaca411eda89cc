"""Tables of mutual aid: requests and offers (posts), their matches and their timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from esante.core.db import Base, utcnow


class AidPost(Base):
    """A request for help or an offer of help, by one establishment."""

    __tablename__ = "cyber_aid_posts"
    __table_args__ = (Index("ix_cyber_aid_posts_kind_topic_status", "kind", "topic", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # request, offer
    topic: Mapped[str] = mapped_column(String(30))
    visibility: Mapped[str] = mapped_column(String(20), default="territory")  # or national
    status: Mapped[str] = mapped_column(String(20), default="open")
    establishment_id: Mapped[int] = mapped_column(ForeignKey("establishments.id"), index=True)
    # Snapshots of where the establishment sits, which the visibility rule reads.
    finess: Mapped[str] = mapped_column(String(9), index=True)
    region_code: Mapped[str] = mapped_column(String(2), index=True)
    ght_id: Mapped[int | None] = mapped_column(ForeignKey("ghts.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    contact: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]


class AidMatch(Base):
    """An offer matched to a request; closed when the help has been given (or dropped)."""

    __tablename__ = "cyber_aid_matches"
    __table_args__ = (UniqueConstraint("request_id", "offer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("cyber_aid_posts.id", ondelete="CASCADE"),
                                            index=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("cyber_aid_posts.id", ondelete="CASCADE"),
                                          index=True)
    status: Mapped[str] = mapped_column(String(20), default="active")  # active, closed
    matched_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    matched_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]


class AidEvent(Base):
    """The timeline of a post: created, matched, closed, notes."""

    __tablename__ = "cyber_aid_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("cyber_aid_posts.id", ondelete="CASCADE"),
                                         index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_label: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))
    text: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
