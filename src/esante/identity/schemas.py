"""Pydantic shapes of the identity API (bounded at the edge; the rules live in services)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from esante.identity.nir import InsMatricule, Nir

Name = Annotated[str, StringConstraints(max_length=100)]
Date = Annotated[str, StringConstraints(max_length=10, pattern=r"^\d{4}-\d{2}-\d{2}$")]
PlaceCode = Annotated[str, StringConstraints(max_length=5)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InsCheckIn(Strict):
    value: Annotated[str, StringConstraints(max_length=30)]


class InsCheckOut(BaseModel):
    value: str
    valid: bool
    kind: str
    sex: str
    birth_year: str
    birth_month: int
    pseudo_month: bool
    place_code: str
    place: str
    born_abroad: bool
    order: str
    key: str
    expected_key: str
    errors: list[str]
    warnings: list[str]


class TraitsIn(Strict):
    birth_name: Name
    first_names: Annotated[list[Name], Field(min_length=1, max_length=10)]
    sex: Literal["M", "F"]
    birth_date: Date
    birth_place: PlaceCode = ""
    used_name: Name = ""
    used_first_name: Name = ""


class DirectoryTraitsIn(Strict):
    birth_name: Name
    first_names: Annotated[list[Name], Field(min_length=1, max_length=10)]
    sex: Literal["M", "F"]
    birth_date: Date
    birth_place: PlaceCode = ""


class CardIn(Strict):
    """What the desk reads on a Carte Vitale: the insured holder's NIR and the
    beneficiary's birth name, first name and birth date."""

    holder_nir: Nir
    birth_name: Name = ""
    first_name: Name = ""
    birth_date: Date


class FormerOut(BaseModel):
    matricule: str
    oid: str


class PersonOut(BaseModel):
    matricule: str
    oid: str
    key_warning: str = ""
    birth_name: str
    first_names: list[str]
    sex: str
    birth_date: str
    birth_place: str
    former_matricules: list[FormerOut] = []


class AnswerOut(BaseModel):
    code: str
    label: str
    persons: list[PersonOut]
    tries: list[str] = []


class IdentityIn(Strict):
    traits: TraitsIn
    nir: InsMatricule | None = None
    attribute: Literal["", "DOUT", "FICT"] = ""
    document: Annotated[str, StringConstraints(max_length=30)] = ""
    collection_method: Annotated[str, StringConstraints(max_length=20)] = "manual"
    local_id: Annotated[str, StringConstraints(max_length=40)] = ""


class IdentityOut(BaseModel):
    id: int
    finess: str
    local_id: str
    status: str
    status_label: str
    status_reason: str
    attribute: str
    traits: dict[str, Any]
    document_type: str
    collection_method: str
    merged_into_id: int | None
    created_at: datetime
    patient_fid: str | None = None  # the FR Core Patient on /fhir


class CandidateOut(BaseModel):
    id: int
    score: int
    reasons: list[str]
    status: str
    traits: dict[str, Any]


class CreatedOut(BaseModel):
    identity: IdentityOut
    candidates: list[CandidateOut]


class EventOut(BaseModel):
    at: datetime
    actor: str
    kind: str
    from_status: str
    to_status: str
    how: str


class IdentityDetailOut(IdentityOut):
    history: list[EventOut]


class DocumentIn(Strict):
    document: Annotated[str, StringConstraints(max_length=30)]


class AttributeIn(Strict):
    attribute: Literal["", "DOUT", "FICT"]
    note: Annotated[str, StringConstraints(max_length=300)] = ""


class InsOut(BaseModel):
    matricule: str
    oid: str


class DecisionIn(Strict):
    decision: Literal["merge", "link", "not_duplicate"]
    surviving_id: int | None = None


class PairOut(BaseModel):
    id: int
    kind: str
    score: int
    reason: str
    state: str
    surviving_id: int | None
    first: IdentityOut
    second: IdentityOut
