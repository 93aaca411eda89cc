"""Tables of lessons learned: the lesson, its categories and its free tags."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from esante.core.db import Base, utcnow


class Lesson(Base):
    """An anonymised lesson. ``source_incident_id`` is known to the cell only."""

    __tablename__ = "cyber_lessons"
    __table_args__ = (Index("ix_cyber_lessons_status_published", "status", "published_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    version: Mapped[int] = mapped_column(default=1)
    source_incident_id: Mapped[int] = mapped_column(ForeignKey("cyber_incidents.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    narrative: Mapped[str] = mapped_column(Text, default="")
    recommendations: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    checked_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]


class LessonCategory(Base):
    """One of the five legal incident categories a lesson belongs to."""

    __tablename__ = "cyber_lesson_categories"
    __table_args__ = (UniqueConstraint("lesson_id", "category"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("cyber_lessons.id", ondelete="CASCADE"),
                                           index=True)
    category: Mapped[str] = mapped_column(String(30), index=True)


class LessonTag(Base):
    """A free tag (lower case, e.g. ``rançongiciel``, ``active-directory``)."""

    __tablename__ = "cyber_lesson_tags"
    __table_args__ = (UniqueConstraint("lesson_id", "tag"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("cyber_lessons.id", ondelete="CASCADE"),
                                           index=True)
    tag: Mapped[str] = mapped_column(String(40), index=True)
