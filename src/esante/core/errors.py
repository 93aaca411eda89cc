"""Domain errors. Each carries a French and an English message and a stable code;
they are turned into problem+json (API), OperationOutcome (FHIR) or a French message
(pages) in one place, ``esante.web.errors``."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400
    code = "invalid"

    def __init__(self, fr: str, en: str = "", *, code: str | None = None, **extra: Any) -> None:
        super().__init__(fr)
        self.fr = fr
        self.en = en or fr
        if code:
            self.code = code
        self.extra = extra


class Invalid(DomainError):
    status = 422
    code = "invalid"


class NotFound(DomainError):
    status = 404
    code = "not-found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class Unauthenticated(DomainError):
    status = 401
    code = "unauthenticated"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class TooManyRequests(DomainError):
    status = 429
    code = "too-many-requests"
