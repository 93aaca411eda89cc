"""Bodies of the space's JSON routes."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field


class LetterIn(BaseModel):
    ins: str = Field(min_length=13, max_length=30)
    code: str = Field(min_length=4, max_length=30)


class HideIn(BaseModel):
    hidden: bool = True


class RppsIn(BaseModel):
    rpps: str = Field(min_length=11, max_length=11)


class CareIn(RppsIn):
    role: Literal["PCP", "CAREGIVER"] = "PCP"


class CloseIn(BaseModel):
    confirm: bool = False


class EntryIn(BaseModel):
    text: str = Field(min_length=2, max_length=200)
    date: dt.date | None = None


class MeasurementIn(BaseModel):
    value: float
    second: float | None = None  # the diastolic pressure
    at: dt.datetime | None = None
    confirm: bool = False


class AppointmentIn(BaseModel):
    start: dt.datetime
    minutes: int = Field(default=30, ge=5, le=600)
    what: str = Field(min_length=2, max_length=200)
    with_whom: str = Field(default="", max_length=200)


class GuardianIn(BaseModel):
    patient: str = Field(min_length=1, max_length=64)  # id of the minor's Patient record
    email: str = Field(min_length=3, max_length=254)
    proof: str = Field(min_length=1, max_length=200)
    since: dt.date
