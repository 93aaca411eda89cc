"""API shapes of incidents (strict: unknown fields refused, every string bounded)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from esante.cyber.incidents.rules import Category


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CareImpact(Strict):
    degraded_mode: bool = False
    transfers: int = Field(default=0, ge=0, le=100_000)
    cancelled_care: int = Field(default=0, ge=0, le=1_000_000)


class DataImpact(Strict):
    confidentiality: bool = False
    integrity: bool = False
    availability: bool = False
    people_affected: int = Field(default=0, ge=0, le=100_000_000)


class IncidentFields(Strict):
    """What a declaration holds; everything optional while it is a draft."""

    title: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=20_000)
    detected_at: datetime | None = None
    started_at: datetime | None = None
    categories: list[Category] | None = Field(default=None, max_length=5)
    malicious: Literal["yes", "no", "unknown"] | None = None
    care_impact: CareImpact | None = None
    data_impact: DataImpact | None = None
    operations_impact: str | None = Field(default=None, max_length=5000)
    measures_taken: str | None = Field(default=None, max_length=10_000)
    support_wanted: str | None = Field(default=None, max_length=5000)
    third_parties: str | None = Field(default=None, max_length=5000)
    personal_data_breach: bool | None = None
    cnil_notified: bool | None = None


class DeclarationIn(IncidentFields):
    finess: str = Field(min_length=9, max_length=9)
    idempotency_key: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    submit: bool = False


class IncidentOut(BaseModel):
    id: int
    reference: str | None
    finess: str
    establishment: str
    region_code: str
    status: str
    status_label: str
    version: int
    title: str
    description: str
    detected_at: datetime | None
    started_at: datetime | None
    declared_at: datetime | None
    categories: list[str]
    malicious: str
    care_impact: dict[str, Any]
    data_impact: dict[str, Any]
    operations_impact: str
    measures_taken: str
    support_wanted: str
    third_parties: str
    personal_data_breach: bool
    cnil_notified: bool
    nis2_in_scope: bool
    severity: int | None
    assignee_id: int | None
    major: bool


class ObligationOut(BaseModel):
    code: str
    label: str
    authority: str
    due_at: datetime | None
    done_at: datetime | None
    status: Literal["due", "done", "overdue"]


class EventOut(BaseModel):
    at: datetime
    actor: str
    kind: str
    text: str
    data: dict[str, Any]


class Qualification(Strict):
    care: int = Field(ge=0, le=3)
    data: int = Field(ge=0, le=3)
    spread: int = Field(ge=0, le=2)
    comment: str = Field(default="", max_length=5000)


class TransitionIn(Strict):
    status: str = Field(max_length=20)
    reason: str = Field(default="", max_length=5000)
    expected_version: int | None = None


class TextIn(Strict):
    text: str = Field(min_length=1, max_length=10_000)


class AnswerIn(Strict):
    request_id: int
    text: str = Field(min_length=1, max_length=10_000)


class AssignIn(Strict):
    analyst_id: int


class TaskIn(Strict):
    title: str = Field(min_length=2, max_length=200)
    owner: Literal["establishment", "cell"] = "establishment"


class EscalationIn(Strict):
    targets: list[Literal["hfds", "crisis_centre", "ars"]] = Field(min_length=1, max_length=3)
    reason: str = Field(min_length=5, max_length=5000)


class ReportIn(Strict):
    text: str = Field(default="", max_length=50_000)


class ReportDraftOut(BaseModel):
    obligation: str
    text: str
    content: dict[str, Any]


class AttachmentOut(BaseModel):
    id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: datetime


class Referent(Strict):
    name: str = Field(min_length=2, max_length=200)
    email: EmailStr
    phone: str = Field(default="", max_length=30)


class ProfileIn(Strict):
    referents: list[Referent] = Field(default_factory=list, max_length=10)
    director: str = Field(default="", max_length=200)
    nis2_in_scope: bool = False
    critical_systems: str = Field(default="", max_length=10_000)
    offline_backups: bool = False
    last_restore_test: date | None = None
    last_crisis_exercise: date | None = None
    provider_contacts: str = Field(default="", max_length=10_000)


class ProfileOut(ProfileIn):
    finess: str
    updated_at: datetime | None
