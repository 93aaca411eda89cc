"""FHIR errors, answered as OperationOutcome resources (French diagnostic, English in
``details.text``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from esante.core.errors import DomainError


@dataclass(frozen=True)
class Issue:
    fr: str
    en: str
    code: str = "invalid"  # FHIR issue-type: invalid, structure, value, not-found, ...
    severity: str = "error"
    expression: str | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"severity": self.severity, "code": self.code,
                               "diagnostics": self.fr, "details": {"text": self.en}}
        if self.expression:
            out["expression"] = [self.expression]
        return out


class FhirError(DomainError):
    """An error the FHIR API answers with an OperationOutcome and ``status``."""

    def __init__(self, status: int, fr: str, en: str, *, code: str = "invalid",
                 expression: str | None = None, issues: list[Issue] | None = None) -> None:
        super().__init__(fr, en, code=code)
        self.status = status
        self.issues = issues or [Issue(fr, en, code, expression=expression)]


def operation_outcome(issues: list[Issue]) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": [i.as_json() for i in issues]}


def from_domain_error(exc: DomainError) -> tuple[int, dict[str, Any]]:
    if isinstance(exc, FhirError):
        return exc.status, operation_outcome(exc.issues)
    code = {401: "login", 403: "forbidden", 404: "not-found", 409: "conflict",
            429: "throttled"}.get(exc.status, "invalid")
    return exc.status, operation_outcome([Issue(exc.fr, exc.en, code)])
