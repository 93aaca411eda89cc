"""What a dashboard holds (the JSON API answers these shapes; the pages and the CSV export
read the same objects)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel


class Count(BaseModel):
    key: str
    label: str
    count: int


class Share(BaseModel):
    """A part of the total, with its share (0–1; None when there is nothing to divide)."""

    key: str
    label: str
    count: int
    share: float | None


class Duration(BaseModel):
    """Elapsed hours between two moments of the incidents that have both."""

    label: str
    count: int
    median_hours: float | None
    p90_hours: float | None


class Overdue(BaseModel):
    code: str
    label: str
    authority: str
    count: int


class ObligationLine(BaseModel):
    code: str
    label: str
    authority: str
    due_at: datetime | None
    done_at: datetime | None
    status: Literal["done", "due", "overdue"]


class IncidentLine(BaseModel):
    id: int
    reference: str | None
    title: str
    status: str
    status_label: str
    declared_at: datetime | None
    severity: int | None
    obligations: list[ObligationLine]


class Dashboard(BaseModel):
    scope: Literal["national", "region", "establishment"]
    ref: str
    title: str
    generated_at: datetime
    total: int
    open: int
    by_year: list[Count]
    by_month: list[Count]
    by_category: list[Share]
    by_region: list[Count]
    by_severity: list[Count]
    malicious: list[Share]
    care_impact: list[Share]
    time_to_declare: Duration
    time_to_qualify: Duration
    overdue: list[Overdue]
    overdue_total: int
    incidents: list[IncidentLine]
