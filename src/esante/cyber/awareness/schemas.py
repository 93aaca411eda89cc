"""API shapes of awareness campaigns (strict: unknown fields refused, every string bounded)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class QuestionIn(Strict):
    question: str = Field(min_length=3, max_length=500)
    choices: list[str] = Field(min_length=2, max_length=6)
    answer: int = Field(ge=0, description="index of the right choice")

    @model_validator(mode="after")
    def _answer_is_a_choice(self) -> QuestionIn:
        if self.answer >= len(self.choices):
            raise ValueError(f"la bonne réponse ({self.answer}) n'est pas un choix proposé")
        if any(not c.strip() or len(c) > 300 for c in self.choices):
            raise ValueError("chaque choix fait de 1 à 300 caractères")
        return self


class ModuleIn(Strict):
    title: str = Field(min_length=3, max_length=200)
    content: str = Field(default="", max_length=20_000)
    duration_minutes: int = Field(default=15, ge=1, le=480)
    quiz: list[QuestionIn] = Field(default_factory=list, max_length=30)
    pass_mark: int = Field(default=80, ge=0, le=100)


class CampaignIn(Strict):
    title: str = Field(min_length=3, max_length=200)
    description: str = Field(default="", max_length=10_000)
    starts_on: date
    ends_on: date
    modules: list[ModuleIn] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _dates(self) -> CampaignIn:
        if self.ends_on < self.starts_on:
            raise ValueError("la campagne se termine avant de commencer")
        return self


class EnrolIn(Strict):
    finess: str = Field(min_length=9, max_length=9)
    staff_count: int = Field(ge=1, le=200_000)


class ResultIn(Strict):
    module_id: int
    participants: int = Field(ge=1, le=200_000)
    quiz_taken: int = Field(default=0, ge=0, le=200_000)
    quiz_passed: int = Field(default=0, ge=0, le=200_000)

    @model_validator(mode="after")
    def _consistent(self) -> ResultIn:
        if self.quiz_taken > self.participants:
            raise ValueError("plus de quiz passés que de participants")
        if self.quiz_passed > self.quiz_taken:
            raise ValueError("plus de quiz réussis que de quiz passés")
        return self


class SimulationIn(Strict):
    recipients: list[str] = Field(min_length=1, max_length=5000)
    subject: str = Field(default="Action requise : confirmez votre accès à la messagerie",
                         min_length=3, max_length=200)


class ReportIn(Strict):
    """A test message a staff member reported, as the raw e-mail (.eml) text."""

    eml: str = Field(min_length=10, max_length=500_000)


class ModuleOut(BaseModel):
    id: int
    position: int
    title: str
    content: str
    duration_minutes: int
    quiz: list[dict[str, object]]
    pass_mark: int


class CampaignOut(BaseModel):
    id: int
    title: str
    description: str
    status: str
    starts_on: date
    ends_on: date
    published_at: datetime | None
    modules: list[ModuleOut]


class EnrolmentOut(BaseModel):
    id: int
    campaign_id: int
    finess: str
    staff_count: int
    enrolled_at: datetime


class ResultOut(BaseModel):
    id: int
    module_id: int
    participants: int
    quiz_taken: int
    quiz_passed: int
    recorded_at: datetime


class SimulationOut(BaseModel):
    id: int
    enrolment_id: int
    finess: str
    status: str
    subject: str
    created_at: datetime
    closed_at: datetime | None
    recipients: int
    clicked: int
    reported: int


class ParticipationRowOut(BaseModel):
    key: str  # a FINESS or a region code
    label: str
    establishments: int
    staff: int
    participants: int
    coverage: float | None  # share of targeted staff who followed the modules, 0..1
    quiz_taken: int
    quiz_passed: int
    simulated: int
    clicked: int
    reported: int
    phishing_reports: int  # messages reported by the staff since the campaign's publication


class ParticipationOut(BaseModel):
    campaign_id: int
    scope: str  # establishment, region, nation
    ref: str
    total: ParticipationRowOut
    rows: list[ParticipationRowOut]
    eligible_establishments: int
