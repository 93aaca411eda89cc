"""What the apps API accepts and answers."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, EmailStr, Field, field_validator, model_validator

from esante.apps import scopes as smart
from esante.apps.checks import CATEGORY_TYPES, siret_ok

Short = Annotated[str, Field(max_length=200)]


class ScopeIn(BaseModel):
    scope: Annotated[str, Field(min_length=3, max_length=100)]
    reason: Annotated[str, Field(max_length=500)] = ""

    @field_validator("scope")
    @classmethod
    def _known(cls, v: str) -> str:
        if not smart.is_known(v):
            raise ValueError(f"portée SMART inconnue : {v}")
        return v


class AppFileIn(BaseModel):
    name: Annotated[str, Field(min_length=2, max_length=120)]
    client_kind: Literal["public", "backend"] = "public"
    publisher_name: Short = ""
    siret: Annotated[str, Field(max_length=20)] = ""
    purpose: Annotated[str, Field(max_length=500)] = ""
    category: Annotated[str, Field(max_length=40)] = "suivi"
    description: Annotated[str, Field(max_length=5000)] = ""
    privacy_url: Annotated[str, Field(max_length=300)] = ""
    hosting_certificate: Annotated[str, Field(max_length=100)] = ""
    logo_url: Annotated[str, Field(max_length=300)] = ""
    support_email: EmailStr | Literal[""] = ""
    scopes: Annotated[list[ScopeIn], Field(max_length=40)] = []
    redirect_uris: Annotated[list[Annotated[str, Field(max_length=300)]], Field(max_length=10)] = []
    pkce: bool = True
    launch_url: Annotated[str, Field(max_length=300, pattern=r"^(https://\S+)?$")] = ""
    self_assessment: dict[Annotated[str, Field(max_length=40)], Literal["oui", "non", "s.o."]] = {}
    jwks: dict[str, Any] = {}

    @model_validator(mode="after")
    def _contexts(self) -> AppFileIn:
        """A backend service asks for system/ scopes only; a person-facing app never does."""
        for s in self.scopes:
            r = smart.parse_resource_scope(s.scope)
            if r is None:
                continue
            if self.client_kind == "backend" and r.context != "system":
                raise ValueError(f"une application d'établissement ne demande que des portées "
                                 f"system/ : {s.scope}")
            if self.client_kind == "public" and r.context == "system":
                raise ValueError(f"une portée system/ est réservée aux services d'établissement : "
                                 f"{s.scope}")
        return self

    @field_validator("siret")
    @classmethod
    def _siret(cls, v: str) -> str:
        v = v.replace(" ", "")
        if v and not siret_ok(v):
            raise ValueError(f"SIRET invalide (14 chiffres, clé de Luhn) : {v}")
        return v

    @field_validator("redirect_uris")
    @classmethod
    def _https(cls, v: list[str]) -> list[str]:
        for uri in v:
            if not uri.startswith("https://") or "#" in uri:
                raise ValueError(f"adresse de redirection non HTTPS (doctrine SEC-01) : {uri}")
        return v

    @field_validator("category")
    @classmethod
    def _category(cls, v: str) -> str:
        if v not in CATEGORY_TYPES:
            raise ValueError(f"catégorie inconnue : {v} (attendu : {', '.join(CATEGORY_TYPES)})")
        return v


class DecisionIn(BaseModel):
    decision: Literal["publish", "reject", "suspend", "reinstate"]
    reasons: Annotated[str, Field(min_length=10, max_length=2000)]


class AppOut(BaseModel):
    id: int
    client_id: str
    client_kind: str
    name: str
    publisher_name: str
    siret: str
    purpose: str
    category: str
    description: str
    privacy_url: str
    hosting_certificate: str
    support_email: str
    scopes: list[dict[str, str]]
    redirect_uris: list[str]
    status: str
    checks: list[dict[str, Any]]

    model_config = {"from_attributes": True}


class ConnectionOut(BaseModel):
    grant_id: int
    app: str
    client_id: str
    scopes: list[str]
    scopes_fr: list[str]
    granted_at: str
    last_accesses: list[str]


class ConsultationIn(BaseModel):
    version: Annotated[str, Field(pattern=r"^\d{1,3}\.\d{1,3}$")]
    title: Annotated[str, Field(min_length=5, max_length=200)]
    ends_on: date


class CommentIn(BaseModel):
    body: Annotated[str, Field(min_length=5, max_length=4000)]
