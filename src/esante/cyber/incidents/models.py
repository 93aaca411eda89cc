"""Tables of incident declaration and handling, and the establishment security profile."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from esante.core.db import Base, utcnow


class SecurityProfile(Base):
    """What the national cell needs to know of an establishment before anything happens."""

    __tablename__ = "cyber_security_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    establishment_id: Mapped[int] = mapped_column(ForeignKey("establishments.id"), unique=True)
    referents: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    director: Mapped[str] = mapped_column(String(200), default="")
    nis2_in_scope: Mapped[bool] = mapped_column(default=False)
    critical_systems: Mapped[str] = mapped_column(Text, default="")
    offline_backups: Mapped[bool] = mapped_column(default=False)
    last_restore_test: Mapped[date | None]
    last_crisis_exercise: Mapped[date | None]
    provider_contacts: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Incident(Base):
    __tablename__ = "cyber_incidents"
    __table_args__ = (
        UniqueConstraint("declarant_id", "idempotency_key"),
        Index("ix_cyber_incidents_status_declared", "status", "declared_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str | None] = mapped_column(String(20), unique=True)
    establishment_id: Mapped[int] = mapped_column(ForeignKey("establishments.id"), index=True)
    finess: Mapped[str] = mapped_column(String(9), index=True)
    region_code: Mapped[str] = mapped_column(String(2), index=True)
    declarant_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # A client-chosen key: submitting twice (double click, retry) finds the same record.
    idempotency_key: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default="draft")
    version: Mapped[int] = mapped_column(default=1)

    title: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    detected_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    malicious: Mapped[str] = mapped_column(String(12), default="unknown")  # yes/no/unknown
    care_impact: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    data_impact: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    operations_impact: Mapped[str] = mapped_column(Text, default="")
    measures_taken: Mapped[str] = mapped_column(Text, default="")
    support_wanted: Mapped[str] = mapped_column(Text, default="")
    third_parties: Mapped[str] = mapped_column(Text, default="")
    personal_data_breach: Mapped[bool] = mapped_column(default=False)
    cnil_notified: Mapped[bool] = mapped_column(default=False)
    nis2_in_scope: Mapped[bool] = mapped_column(default=False)  # snapshot at declaration

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    declared_at: Mapped[datetime | None] = mapped_column(index=True)
    acknowledged_at: Mapped[datetime | None]
    qualified_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    severity: Mapped[int | None]
    severity_factors: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    major: Mapped[bool] = mapped_column(default=False)


class IncidentEvent(Base):
    """The timeline: everything that happened to an incident, with who and when."""

    __tablename__ = "cyber_incident_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("cyber_incidents.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_label: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))
    text: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class IncidentReport(Base):
    """A report submitted for one obligation (CNIL, NIS2 stages)."""

    __tablename__ = "cyber_incident_reports"
    __table_args__ = (UniqueConstraint("incident_id", "obligation"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("cyber_incidents.id", ondelete="CASCADE"))
    obligation: Mapped[str] = mapped_column(String(30))
    submitted_at: Mapped[datetime]
    submitted_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    content: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class IncidentAttachment(Base):
    """Evidence, stored encrypted; its SHA-256 is the chain of custody."""

    __tablename__ = "cyber_incident_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("cyber_incidents.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(80))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    blob_id: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)


class IncidentTask(Base):
    __tablename__ = "cyber_incident_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("cyber_incidents.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    owner: Mapped[str] = mapped_column(String(20))  # establishment or cell
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]


class ReminderSent(Base):
    """Deadline reminders already sent, so that the worker sends each stage once."""

    __tablename__ = "cyber_reminders_sent"
    __table_args__ = (UniqueConstraint("incident_id", "obligation", "stage"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("cyber_incidents.id", ondelete="CASCADE"))
    obligation: Mapped[str] = mapped_column(String(30))
    stage: Mapped[str] = mapped_column(String(20))  # soon, overdue
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
