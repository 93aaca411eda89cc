"""API shapes for notifications."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class NotificationOut(BaseModel):
    id: int
    title: str
    body: str
    link: str
    level: str
    created_at: datetime
    read_at: datetime | None


class NotificationSend(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: str = Field(max_length=40)
    scope_kind: Literal["establishment", "region", "nation"] | None = None
    scope_ref: str | None = Field(default=None, max_length=20)
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=5000)
    link: str = Field(default="", max_length=300, pattern=r"^(/[^\s]*)?$")
    level: Literal["info", "warning", "alert"] = "info"
