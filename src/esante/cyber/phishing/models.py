"""Table of phishing reports. The message and its analysis are personal (the reporter's
mailbox): both are encrypted at rest; only the verdict and counts are kept in clear."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from esante.core.db import Base, utcnow


class PhishingReport(Base):
    __tablename__ = "cyber_phishing_reports"
    __table_args__ = (Index("ix_cyber_phishing_reports_finess_at", "finess", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    finess: Mapped[str] = mapped_column(String(9))
    region_code: Mapped[str] = mapped_column(String(2), index=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    blob_id: Mapped[str] = mapped_column(String(64))  # the .eml, encrypted
    analysis_enc: Mapped[str] = mapped_column(Text)  # headers, observables, reasons: encrypted
    verdict: Mapped[str] = mapped_column(String(12))  # malicious, suspicious, clean
    score: Mapped[int] = mapped_column(Integer, default=0)
    matched: Mapped[int] = mapped_column(Integer, default=0)  # how many known indicators
    status: Mapped[str] = mapped_column(String(12), default="answered")  # or published
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
