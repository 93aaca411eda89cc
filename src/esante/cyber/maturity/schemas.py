"""API shapes of the maturity self-assessment (strict: unknown fields refused, bounded)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Answer(StrEnum):
    DONE = "done"
    PARTIAL = "partial"
    NOT_DONE = "not_done"
    NOT_APPLICABLE = "not_applicable"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AnswerIn(Strict):
    answer: Answer
    evidence: str = Field(default="", max_length=4000)


class AssessmentIn(Strict):
    """Every item of the questionnaire must be answered (``not_applicable`` included)."""

    answers: dict[str, AnswerIn] = Field(max_length=100)
    security_budget_share: float | None = Field(default=None, ge=0, le=100)


class ItemOut(BaseModel):
    code: str
    number: int | None
    chapter: str
    level: str
    title: str


class ChapterOut(BaseModel):
    code: str
    title: str


class CatalogueOut(BaseModel):
    source: str
    chapters: list[ChapterOut]
    items: list[ItemOut]


class ScoresOut(BaseModel):
    overall: float | None
    chapters: dict[str, float | None]


class AssessmentOut(BaseModel):
    id: int
    finess: str
    assessed_at: datetime
    scores: ScoresOut
    security_budget_share: float | None


class AnswerOut(BaseModel):
    code: str
    title: str
    answer: str
    evidence: str


class AssessmentDetailOut(AssessmentOut):
    answers: list[AnswerOut]


class RecommendationOut(BaseModel):
    code: str
    label: str
    title: str
    chapter: str
    level: str
    answer: str
    priority: float


class PeersOut(BaseModel):
    """The median of similar establishments (same category, same region), or why not."""

    category: str
    region_code: str
    count: int
    median: ScoresOut | None
    note: str


class SummaryOut(BaseModel):
    finess: str
    establishment: str
    latest: AssessmentOut | None
    history: list[AssessmentOut]
    recommendations: list[RecommendationOut] | None  # None: the caller reads scores only
    peers: PeersOut | None


class RegionRowOut(BaseModel):
    finess: str
    establishment: str
    category: str
    assessed_at: datetime | None
    overall: float | None
