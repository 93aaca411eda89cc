"""Tables of the data hub: the catalogue, research projects and their timeline, opt-outs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from esante.core.db import Base, utcnow


class Dataset(Base):
    """A dataset of the catalogue: what it holds, where it comes from, where its file is."""

    __tablename__ = "datahub_datasets"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(300))
    path: Mapped[str] = mapped_column(String(1000))  # the Parquet file (inside the hub)
    row_count: Mapped[int] = mapped_column(default=0)
    period_start: Mapped[date | None]
    period_end: Mapped[date | None]
    person_id_column: Mapped[str] = mapped_column(String(60))
    registered_by: Mapped[str] = mapped_column(String(200))
    registered_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class DatasetColumn(Base):
    """One column of a dataset's data dictionary."""

    __tablename__ = "datahub_dataset_columns"
    __table_args__ = (UniqueConstraint("dataset_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datahub_datasets.id", ondelete="CASCADE"),
                                            index=True)
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(60))
    data_type: Mapped[str] = mapped_column(String(40))
    meaning: Mapped[str] = mapped_column(String(500))
    # direct_identifier, quasi_identifier, sensitive, other
    sensitivity: Mapped[str] = mapped_column(String(20))
    # The generalisation hierarchy the pipeline may use: age, geography, date, or "".
    hierarchy: Mapped[str] = mapped_column(String(20), default="")


class Project(Base):
    """A research project: what is asked, why, by whom; its review; its results."""

    __tablename__ = "datahub_projects"
    __table_args__ = (Index("ix_datahub_projects_status", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str | None] = mapped_column(String(30), unique=True)  # set at submission
    title: Mapped[str] = mapped_column(String(300))
    purpose: Mapped[str] = mapped_column(Text)
    team: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    methodology: Mapped[str] = mapped_column(String(20))  # MR-001... or "authorisation"
    methodology_details: Mapped[str] = mapped_column(Text, default="")
    conformity_commitment: Mapped[bool] = mapped_column(default=False)
    linkage: Mapped[bool] = mapped_column(default=False)
    linkage_justification: Mapped[str] = mapped_column(Text, default="")
    duration_months: Mapped[int]
    expected_outputs: Mapped[str] = mapped_column(Text)
    requested_k: Mapped[int]
    requested_l: Mapped[int | None]
    l_column: Mapped[str | None] = mapped_column(String(130))  # "dataset.column"
    status: Mapped[str] = mapped_column(String(20), default="draft")
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    opinion: Mapped[str | None] = mapped_column(String(40))
    opinion_reasons: Mapped[str] = mapped_column(Text, default="")
    opinion_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    approved_k: Mapped[int | None]
    approved_l: Mapped[int | None]
    approved_l_column: Mapped[str | None] = mapped_column(String(130))
    suppression_limit: Mapped[float | None]  # share of rows that may be suppressed
    # Dates shifted per person before generalisation (the decision's choice).
    date_shift: Mapped[bool] = mapped_column(default=False)
    results: Mapped[str] = mapped_column(Text, default="")
    closed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProjectColumn(Base):
    """A column a project asks for."""

    __tablename__ = "datahub_project_columns"
    __table_args__ = (UniqueConstraint("project_id", "column_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("datahub_projects.id", ondelete="CASCADE"),
                                            index=True)
    column_id: Mapped[int] = mapped_column(ForeignKey("datahub_dataset_columns.id"), index=True)


class ProjectEvent(Base):
    """The public timeline of a project: each step, dated and attributed."""

    __tablename__ = "datahub_project_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("datahub_projects.id", ondelete="CASCADE"),
                                            index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_label: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))
    text: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class OptOut(Base):
    """A citizen's objection to the reuse of their data: a keyed hash, never the number."""

    __tablename__ = "datahub_opt_outs"
    # One row per citizen and number: whether someone else objected for a number is never
    # revealed to the one who types it.
    __table_args__ = (UniqueConstraint("digest", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), index=True)  # HMAC-SHA-256, hex
    kind: Mapped[str] = mapped_column(String(20))  # nir or person_id
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                index=True)
    channel: Mapped[str] = mapped_column(String(20), default="web")  # web, api, ens
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None]


class Extract(Base):
    """One run of an approved project's extraction: who launched it, on which engine, where it
    stands, and its risk report (counts and measures only, never a value)."""

    __tablename__ = "datahub_extracts"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("datahub_projects.id", ondelete="CASCADE"),
                                            index=True)
    engine: Mapped[str] = mapped_column(String(10))  # duckdb, spark
    status: Mapped[str] = mapped_column(String(10), default="queued")  # running, done, failed
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    requested_by_label: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    # Its worker's last sign of life while it runs (every ``extract_heartbeat_seconds``).
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    out_dir: Mapped[str] = mapped_column(String(1000), default="")
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # ExtractReport
    error: Mapped[str] = mapped_column(String(500), default="")


class OutputCheck(Base):
    """An aggregated table a researcher asks to take out: the table as submitted (encrypted),
    the version with small cells suppressed, and the reviewer's decision on its release."""

    __tablename__ = "datahub_output_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("datahub_projects.id", ondelete="CASCADE"),
                                            index=True)
    name: Mapped[str] = mapped_column(String(200))
    threshold: Mapped[int]
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_by_label: Mapped[str] = mapped_column(String(200))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    original_enc: Mapped[str] = mapped_column(Text)  # core.crypto Vault token
    checked_csv: Mapped[str] = mapped_column(Text)  # small cells shown as "s"
    primary_cells: Mapped[int] = mapped_column(default=0)
    secondary_cells: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # approved, refused
    reason: Mapped[str] = mapped_column(Text, default="")
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_by_label: Mapped[str] = mapped_column(String(200), default="")
    reviewed_at: Mapped[datetime | None]
