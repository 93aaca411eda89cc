"""Pydantic models of the threat watch's JSON routes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl

Tlp = Literal["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]
AlertStatus = Literal["new", "acknowledged", "patched", "not_affected", "accepted_risk"]
Version = Annotated[str, Field(min_length=1, max_length=200)]
CveId = Annotated[str, Field(pattern=r"^CVE-\d{4}-\d{4,}$", max_length=30)]


class AffectedIn(BaseModel):
    """An affected product: a CPE 2.3 name (its version, or ``*`` with bounds), NVD-style."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    cpe: Annotated[str, Field(min_length=1, max_length=1000)]
    version_start_including: Version | None = Field(None, alias="versionStartIncluding")
    version_start_excluding: Version | None = Field(None, alias="versionStartExcluding")
    version_end_including: Version | None = Field(None, alias="versionEndIncluding")
    version_end_excluding: Version | None = Field(None, alias="versionEndExcluding")


class AdvisoryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, Field(min_length=3, max_length=300)]
    summary: Annotated[str, Field(max_length=20_000)] = ""
    cve_ids: Annotated[list[CveId], Field(max_length=200)] = []
    cvss_vector: Annotated[str | None, Field(max_length=300)] = None
    affected: Annotated[list[AffectedIn], Field(min_length=1, max_length=1000)]
    recommendations: Annotated[str, Field(max_length=20_000)] = ""
    references: Annotated[list[HttpUrl], Field(max_length=100)] = []
    tlp: Tlp = "CLEAR"
    reference: Annotated[str | None, Field(max_length=120, pattern=r"^[A-Za-z0-9._:/-]+$")] = None


class AffectedOut(BaseModel):
    cpe: str
    vendor: str
    product: str
    version: str
    versionStartIncluding: str | None  # noqa: N815 - NVD's names
    versionStartExcluding: str | None  # noqa: N815
    versionEndIncluding: str | None  # noqa: N815
    versionEndExcluding: str | None  # noqa: N815


class AdvisoryOut(BaseModel):
    id: int
    reference: str
    revision: str
    title: str
    summary: str
    cve_ids: list[str]
    cvss_vector: str | None
    cvss_score: Decimal | None
    severity: str | None
    recommendations: str
    references: list[str]
    tlp: str
    source: str
    status: str
    published_at: datetime
    affected: list[AffectedOut]
    alerted_establishments: int | None = None  # the cell only


class ProductIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cpe: Annotated[str, Field(min_length=1, max_length=1000)]
    label: Annotated[str, Field(max_length=300)] = ""
    version: Annotated[str, Field(max_length=200)] = ""


class ProductOut(BaseModel):
    id: int
    cpe: str
    part: str
    vendor: str
    product: str
    version: str
    label: str
    source: str
    added_at: datetime


class ImportOut(BaseModel):
    format: str
    added: int
    already_present: int
    removed: int
    skipped_without_cpe: list[str]
    new_alerts: int


class AlertIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: AlertStatus
    note: Annotated[str, Field(max_length=5000)] = ""


class AlertOut(BaseModel):
    id: int
    advisory_id: int
    advisory_title: str
    finess: str
    establishment: str
    region_code: str
    status: str
    status_label: str
    note: str
    matched: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime


class CountOut(BaseModel):
    status: str
    label: str
    count: int


class RegionProgressOut(BaseModel):
    region_code: str
    region: str
    total: int
    counts: dict[str, int]


class ProgressOut(BaseModel):
    advisory_id: int
    alerted: int
    resolved: int  # patched, not affected, or risk accepted
    by_status: list[CountOut]
    by_region: list[RegionProgressOut]
