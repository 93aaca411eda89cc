"""FHIR Bulk Data export jobs (``$export``): who asked what, where it stands, and the
encrypted NDJSON files it produced (``BlobStore`` ids, never plain files)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from esante.core.db import Base


class ExportJob(Base):
    __tablename__ = "fhir_export_jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random, unguessable
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The scopes of the token that started the job (None: a browser session).
    token_scopes: Mapped[list[str] | None] = mapped_column(JSON)
    ip: Mapped[str] = mapped_column(String(64), default="")
    level: Mapped[str] = mapped_column(String(10))  # system, patient, group
    group_fid: Mapped[str | None] = mapped_column(String(64))
    types: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: every type
    since: Mapped[datetime | None]
    request_url: Mapped[str] = mapped_column(String(2000))
    status: Mapped[str] = mapped_column(String(10), default="queued")  # running, done, failed
    progress: Mapped[str] = mapped_column(String(100), default="")
    error: Mapped[str] = mapped_column(String(500), default="")
    # [{"type", "name", "blob", "count"}]: one entry per NDJSON file.
    output: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime]
    transaction_time: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    expires_at: Mapped[datetime] = mapped_column(index=True)
