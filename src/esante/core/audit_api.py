"""JSON routes for the audit trail: the platform's (administrators) and my own."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import or_, select

from esante.core import policy
from esante.core.audit import AuditEvent, seal, verify_chain
from esante.web.deps import ApiPrincipal, SessionDep

router = APIRouter(tags=["audit"])


class AuditEventOut(BaseModel):
    id: int
    at: datetime
    actor_label: str
    action: str
    object_type: str
    object_id: str
    outcome: str
    justification: str
    details: dict[str, Any]


@router.get("/audit", summary="Piste d'audit (administration)")
def events(
    p: ApiPrincipal, session: SessionDep,
    action: str | None = Query(default=None, max_length=80),
    before_id: int | None = None, limit: int = Query(default=100, ge=1, le=1000),
) -> list[AuditEventOut]:
    policy.authorize(p, "audit.read")
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    if before_id:
        stmt = stmt.where(AuditEvent.id < before_id)
    return [AuditEventOut.model_validate(e, from_attributes=True) for e in session.scalars(stmt)]


@router.get("/audit/verify", summary="Vérifier l'intégrité de la chaîne")
def verify(p: ApiPrincipal, session: SessionDep) -> dict[str, Any]:
    policy.authorize(p, "audit.read")
    seal(session)  # chain what was appended since the worker's last pass, then check all
    report = verify_chain(session)
    return {"ok": report.ok, "checked": report.checked, "first_bad_id": report.first_bad_id,
            "reason": report.reason, "pending": report.pending}


@router.get("/me/audit", summary="Qui a accédé à mes données / who touched my data")
def my_events(p: ApiPrincipal, session: SessionDep,
              limit: int = Query(default=100, ge=1, le=1000)) -> list[AuditEventOut]:
    policy.authorize(p, "self.read")
    stmt = (select(AuditEvent)
            .where(or_(AuditEvent.subject_user_id == p.user.id))
            .order_by(AuditEvent.id.desc()).limit(limit))
    return [AuditEventOut.model_validate(e, from_attributes=True) for e in session.scalars(stmt)]
