"""API shapes for organisations."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from esante.core.identifiers import Finess


class NationalCellOut(BaseModel):
    name: str
    description: str
    analysts: int


class RegionOut(BaseModel):
    code: str
    name: str
    agency_name: str


class EstablishmentOut(BaseModel):
    finess: str
    name: str
    category: str
    region_code: str
    department: str
    town: str
    ght: str | None


class EstablishmentPage(BaseModel):
    total: int
    items: list[EstablishmentOut]


class EstablishmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    finess: Finess
    name: str = Field(min_length=2, max_length=200)
    category: str = Field(max_length=20)
    department: str = Field(min_length=2, max_length=3)
    town: str = Field(default="", max_length=100)
    ght: str | None = Field(default=None, max_length=160)


class EstablishmentUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=2, max_length=200)
    category: str | None = Field(default=None, max_length=20)
    town: str | None = Field(default=None, max_length=100)
    ght: str | None = Field(default=None, max_length=160)


class StaffMember(BaseModel):
    user_id: int
    display_name: str
    email: str
    role: str
