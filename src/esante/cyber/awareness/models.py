"""Tables of the awareness campaign: campaigns and their modules (with quizzes),
establishments' enrolments, participation counts, and phishing simulations.

Participation is recorded as counts, never names. A simulation's staff addresses are kept
(encrypted) only while it runs: closing it deletes them and the mails sent, keeping counts."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from esante.core.db import Base, utcnow


class AwarenessCampaign(Base):
    __tablename__ = "cyber_awareness_campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(12), default="draft")  # draft, published, closed
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None]


class AwarenessModule(Base):
    """A module of a campaign; its quiz is a list of questions, each with its choices and
    the index of the right one."""

    __tablename__ = "cyber_awareness_modules"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("cyber_awareness_campaigns.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text, default="")
    duration_minutes: Mapped[int] = mapped_column(default=15)
    quiz: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    pass_mark: Mapped[int] = mapped_column(default=80)  # % of right answers to pass


class AwarenessEnrolment(Base):
    __tablename__ = "cyber_awareness_enrolments"
    __table_args__ = (UniqueConstraint("campaign_id", "establishment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("cyber_awareness_campaigns.id", ondelete="CASCADE"), index=True)
    establishment_id: Mapped[int] = mapped_column(ForeignKey("establishments.id"), index=True)
    finess: Mapped[str] = mapped_column(String(9), index=True)
    region_code: Mapped[str] = mapped_column(String(2), index=True)
    staff_count: Mapped[int]  # staff the establishment targets
    enrolled_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    enrolled_at: Mapped[datetime] = mapped_column(default=utcnow)


class AwarenessResult(Base):
    """One session's counts for one module (sessions add up)."""

    __tablename__ = "cyber_awareness_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("cyber_awareness_enrolments.id", ondelete="CASCADE"), index=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("cyber_awareness_modules.id",
                                                      ondelete="CASCADE"), index=True)
    participants: Mapped[int]
    quiz_taken: Mapped[int] = mapped_column(default=0)
    quiz_passed: Mapped[int] = mapped_column(default=0)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class PhishingSimulation(Base):
    __tablename__ = "cyber_awareness_simulations"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("cyber_awareness_enrolments.id", ondelete="CASCADE"), index=True)
    finess: Mapped[str] = mapped_column(String(9), index=True)
    region_code: Mapped[str] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(10), default="running")  # running, closed
    subject: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    # Counts, kept after the addresses are deleted.
    recipients: Mapped[int] = mapped_column(default=0)
    clicked: Mapped[int] = mapped_column(default=0)
    reported: Mapped[int] = mapped_column(default=0)


class SimulationRecipient(Base):
    """One addressee of a running simulation: deleted when the simulation closes."""

    __tablename__ = "cyber_awareness_recipients"

    id: Mapped[int] = mapped_column(primary_key=True)
    simulation_id: Mapped[int] = mapped_column(
        ForeignKey("cyber_awareness_simulations.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(Text)  # Vault ciphertext
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    mail_id: Mapped[int | None] = mapped_column(ForeignKey("mail_outbox.id", ondelete="SET NULL"))
    clicked_at: Mapped[datetime | None]
    reported_at: Mapped[datetime | None]
