"""API shapes for accounts (unknown fields refused, every string bounded)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from esante.core.identifiers import Rpps

Email = Annotated[str, StringConstraints(max_length=254, strip_whitespace=True)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RoleOut(BaseModel):
    role: str
    label: str
    scope_kind: str
    scope_ref: str


class UserOut(BaseModel):
    id: int
    email: str
    display_name: str
    rpps: str | None
    totp_enabled: bool
    is_active: bool
    roles: list[RoleOut]


class RoleIn(Strict):
    role: str = Field(max_length=40)
    scope_kind: Literal["self", "establishment", "region", "nation"]
    scope_ref: str = Field(default="", max_length=20)


class UserCreate(Strict):
    email: Email
    password: str = Field(max_length=256)
    display_name: str = Field(min_length=1, max_length=200)
    rpps: Rpps | None = None
    roles: list[RoleIn] = Field(default_factory=list, max_length=20)


class TokenCreate(Strict):
    name: str = Field(default="api", min_length=1, max_length=100)
    scopes: list[Literal["read", "write"]] = Field(default=["read"],
                                                   max_length=2)
    days: int = Field(default=30, ge=1, le=365)


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="Le jeton en clair, montré une seule fois.")


class PasswordChange(Strict):
    current_password: str = Field(max_length=256)
    new_password: str = Field(max_length=256)
