"""API shapes of lessons learned (strict: unknown fields refused, every string bounded)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from esante.cyber.incidents.rules import Category

Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=40,
                                       pattern=r"^[\w' -]+$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LessonFields(Strict):
    title: str | None = Field(default=None, min_length=3, max_length=200)
    summary: str | None = Field(default=None, max_length=5000)
    narrative: str | None = Field(default=None, max_length=20_000)
    recommendations: str | None = Field(default=None, max_length=10_000)
    categories: list[Category] | None = Field(default=None, max_length=5)
    tags: list[Tag] | None = Field(default=None, max_length=20)


class LessonIn(LessonFields):
    incident_id: int = Field(ge=1)
    title: str = Field(min_length=3, max_length=200)


class LessonOut(BaseModel):
    id: int
    status: str
    status_label: str
    version: int
    title: str
    summary: str
    narrative: str
    recommendations: str
    categories: list[str]
    tags: list[str]
    published_at: datetime | None
    # Known to the national cell only: None for everyone else.
    source_incident_id: int | None = None
    source_incident_reference: str | None = None


class TagCount(BaseModel):
    tag: str
    lessons: int
