"""API shapes of mutual aid (strict: unknown fields refused, every string bounded)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Kind(StrEnum):
    REQUEST = "request"
    OFFER = "offer"


class Topic(StrEnum):
    DIRECTORY_REBUILD = "directory_rebuild"
    WORKSTATIONS = "workstations"
    CRISIS_STAFF = "crisis_staff"
    EXPERTISE = "expertise"
    OTHER = "other"


class Visibility(StrEnum):
    TERRITORY = "territory"  # the region and the GHT
    NATIONAL = "national"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PostIn(Strict):
    finess: str = Field(min_length=9, max_length=9)
    kind: Kind
    topic: Topic
    visibility: Visibility = Visibility.TERRITORY
    title: str = Field(min_length=3, max_length=200)
    description: str = Field(default="", max_length=10_000)
    contact: str = Field(default="", max_length=200)


class MatchIn(Strict):
    other_id: int = Field(ge=1, description="l'offre (pour une demande) ou la demande "
                                            "(pour une offre) à mettre en relation")


class CloseIn(Strict):
    note: str = Field(min_length=1, max_length=5000)


class EventOut(BaseModel):
    at: datetime
    actor: str
    kind: str
    text: str
    data: dict[str, Any]


class PostOut(BaseModel):
    id: int
    kind: str
    kind_label: str
    topic: str
    topic_label: str
    visibility: str
    status: str
    status_label: str
    finess: str
    establishment: str
    region_code: str
    ght: str | None
    title: str
    description: str
    contact: str
    created_at: datetime
    closed_at: datetime | None
    matched_with: list[int]


class PostDetailOut(PostOut):
    timeline: list[EventOut]
