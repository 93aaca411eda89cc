"""Pydantic shapes of the data hub's API."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20_000)]
Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]


class Methodology(StrEnum):
    MR001 = "MR-001"
    MR003 = "MR-003"
    MR004 = "MR-004"
    MR005 = "MR-005"
    MR006 = "MR-006"
    AUTHORISATION = "authorisation"


class Opinion(StrEnum):
    FAVOURABLE = "favourable"
    WITH_RECOMMENDATIONS = "favourable_with_recommendations"
    RESERVED = "reserved"
    UNFAVOURABLE = "unfavourable"


class Member(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Line
    affiliation: Line
    role: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] = ""


class ProjectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Line
    purpose: Annotated[str, StringConstraints(strip_whitespace=True, min_length=20,
                                              max_length=20_000)]
    team: Annotated[list[Member], Field(min_length=1, max_length=50)]
    methodology: Methodology
    methodology_details: Text = ""
    conformity_commitment: bool = False
    columns: Annotated[list[Annotated[str, StringConstraints(max_length=130)]],
                       Field(min_length=1, max_length=200)]
    linkage: bool = False
    linkage_justification: Text = ""
    duration_months: Annotated[int, Field(ge=1, le=120)]
    expected_outputs: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                                       max_length=20_000)]
    k: Annotated[int, Field(ge=2, le=10_000)] = 5
    l: Annotated[int | None, Field(ge=2, le=1000)] = None  # noqa: E741 - the field's own name
    l_column: Annotated[str | None, StringConstraints(max_length=130)] = None


class CompletenessIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    complete: bool
    note: Text = ""


class OpinionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    opinion: Opinion
    reasons: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                              max_length=20_000)]


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    authorised: bool
    reasons: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                              max_length=20_000)]
    k: Annotated[int | None, Field(ge=2, le=10_000)] = None
    l: Annotated[int | None, Field(ge=2, le=1000)] = None  # noqa: E741
    l_column: Annotated[str | None, StringConstraints(max_length=130)] = None
    suppression_limit: Annotated[float | None, Field(ge=0, le=0.5)] = None
    # Shift each person's dates by their own number of days before generalisation.
    date_shift: bool = False


class ResultsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    results: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                              max_length=20_000)]


class OptOutIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    nir: Annotated[str, StringConstraints(strip_whitespace=True, max_length=30)]


class OptOutOut(BaseModel):
    id: int
    recorded_at: datetime
    withdrawn_at: datetime | None
    active: bool
    channel: str


class EventOut(BaseModel):
    at: datetime
    actor: str
    kind: str
    text: str
    data: dict[str, Any]


class OutputCheckIn(BaseModel):
    """An aggregated table to check before it leaves: CSV, labels in the first column."""

    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = "tableau"
    csv: Annotated[str, StringConstraints(min_length=1, max_length=1_000_000)]


class OutputReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    approve: bool
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                             max_length=5000)]


class ExtractIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    engine: Annotated[str, StringConstraints(pattern="^(duckdb|spark)$")] = "duckdb"
