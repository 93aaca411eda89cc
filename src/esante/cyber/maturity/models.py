"""Tables of the maturity self-assessment: dated snapshots of an establishment's answers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from esante.core.db import Base, utcnow


class MaturityAssessment(Base):
    """One self-assessment of an establishment, as answered on a date (never edited:
    a new one is taken instead, so that the history stays)."""

    __tablename__ = "cyber_maturity_assessments"
    __table_args__ = (Index("ix_cyber_maturity_peers", "category", "region_code", "finess"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    establishment_id: Mapped[int] = mapped_column(ForeignKey("establishments.id"), index=True)
    # Snapshots of the establishment at the time: peers are chosen on these.
    finess: Mapped[str] = mapped_column(String(9), index=True)
    region_code: Mapped[str] = mapped_column(String(2))
    category: Mapped[str] = mapped_column(String(20))
    assessed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    overall_score: Mapped[float | None]
    chapter_scores: Mapped[dict[str, float | None]] = mapped_column(JSON, default=dict)
    security_budget_share: Mapped[float | None]  # % of the IS budget, as declared


class MaturityAnswer(Base):
    """The answer to one item; the evidence note is encrypted at rest."""

    __tablename__ = "cyber_maturity_answers"
    __table_args__ = (UniqueConstraint("assessment_id", "item_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("cyber_maturity_assessments.id", ondelete="CASCADE"), index=True)
    item_code: Mapped[str] = mapped_column(String(8))
    answer: Mapped[str] = mapped_column(String(16))  # done, partial, not_done, not_applicable
    evidence: Mapped[str] = mapped_column(Text, default="")  # Vault ciphertext, or ""
