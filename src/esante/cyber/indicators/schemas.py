"""API shapes of indicator sharing (strict: unknown fields refused, every string bounded)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Tlp(StrEnum):
    """Traffic Light Protocol 2.0 (FIRST)."""

    CLEAR = "clear"
    GREEN = "green"
    AMBER = "amber"
    AMBER_STRICT = "amber+strict"
    RED = "red"


class Pap(StrEnum):
    """Permissible Actions Protocol: what a recipient may do with an indicator."""

    CLEAR = "clear"
    GREEN = "green"
    AMBER = "amber"
    RED = "red"


class Scope(StrEnum):
    NATIONAL = "national"
    REGION = "region"
    GHT = "ght"
    ESTABLISHMENT = "establishment"
    ORGANISATIONS = "organisations"  # named establishments


class Kind(StrEnum):
    IP = "ip"
    DOMAIN = "domain"
    URL = "url"
    EMAIL = "email"
    MD5 = "md5"
    SHA1 = "sha1"
    SHA256 = "sha256"


class SightingKind(StrEnum):
    SEEN = "seen"
    FALSE_POSITIVE = "false_positive"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IndicatorIn(Strict):
    kind: Kind | None = Field(default=None, description="deviné d'après la valeur si absent")
    value: str = Field(min_length=1, max_length=2048)
    comment: str = Field(default="", max_length=500)
    expires_at: datetime | None = None


class Sharing(Strict):
    """Who shares (an establishment, or the cell when ``source_finess`` is absent) and for
    whom."""

    tlp: Tlp
    pap: Pap = Pap.AMBER
    scope: Scope
    source_finess: str | None = Field(default=None, min_length=9, max_length=9)
    scope_region: str | None = Field(default=None, min_length=2, max_length=2)
    recipients: list[str] = Field(default_factory=list, max_length=200,
                                  description="FINESS des destinataires nommés")
    scope_finess: str | None = Field(default=None, min_length=9, max_length=9)
    expires_at: datetime | None = None


class EventIn(Sharing):
    title: str = Field(min_length=3, max_length=200)
    description: str = Field(default="", max_length=10_000)
    indicators: list[IndicatorIn] = Field(default_factory=list, max_length=10_000)


class IndicatorsIn(Strict):
    indicators: list[IndicatorIn] = Field(min_length=1, max_length=10_000)


class SightingIn(Strict):
    kind: SightingKind
    finess: str | None = Field(default=None, min_length=9, max_length=9)
    note: str = Field(default="", max_length=500)


class IndicatorOut(BaseModel):
    id: int
    uuid: str
    kind: str
    value: str
    comment: str
    warning: str | None
    expires_at: datetime | None
    seen: int
    false_positive: int


class EventOut(BaseModel):
    id: int
    uuid: str
    title: str
    description: str
    tlp: str
    pap: str
    scope: str
    scope_label: str
    source: str
    status: str
    created_at: datetime
    expires_at: datetime | None
    indicator_count: int


class EventDetailOut(EventOut):
    indicators: list[IndicatorOut]


class SearchHit(BaseModel):
    indicator: IndicatorOut
    event_id: int
    event_title: str
    tlp: str
