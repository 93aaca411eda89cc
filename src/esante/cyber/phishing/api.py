"""JSON routes of phishing reports (``/api/cyber/phishing``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Query, UploadFile, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from esante.core.errors import Invalid
from esante.cyber.indicators.api import event_out
from esante.cyber.indicators.schemas import EventOut, Pap, Scope, Sharing, Tlp
from esante.cyber.phishing import service
from esante.cyber.phishing.models import PhishingReport
from esante.cyber.phishing.parse import MAX_EML_BYTES
from esante.web.deps import ApiPrincipal, SessionDep

router = APIRouter(prefix="/cyber/phishing", tags=["cybervigilance : hameçonnage"])


class ReportOut(BaseModel):
    id: int
    finess: str
    verdict: str
    verdict_label: str
    score: int
    matched: int
    status: str
    created_at: datetime


class ReportDetailOut(ReportOut):
    reasons: list[str]
    matches: list[dict[str, Any]]
    analysis: dict[str, Any]


class PublishIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=3, max_length=200)
    values: list[str] = Field(min_length=1, max_length=500)
    tlp: Tlp
    pap: Pap = Pap.AMBER
    scope: Scope
    scope_region: str | None = Field(default=None, min_length=2, max_length=2)
    recipients: list[str] = Field(default_factory=list, max_length=200)


def report_out(r: PhishingReport) -> ReportOut:
    return ReportOut(id=r.id, finess=r.finess, verdict=r.verdict,
                     verdict_label=service.VERDICT_LABELS[r.verdict], score=r.score,
                     matched=r.matched, status=r.status, created_at=r.created_at)


def detail_out(session: Session, p: ApiPrincipal, r: PhishingReport) -> ReportDetailOut:
    data = service.details(session, p, r)
    return ReportDetailOut(**report_out(r).model_dump(), reasons=data["reasons"],
                           matches=data["matches"], analysis=data["analysis"])


@router.post("", status_code=status.HTTP_201_CREATED,
             summary="Signaler un message suspect (fichier .eml)")
async def submit(
    p: ApiPrincipal, session: SessionDep,
    finess: Annotated[str, Query(min_length=9, max_length=9, description="l'établissement")],
    file: Annotated[UploadFile, File(description="le message au format .eml (RFC 5322)")],
) -> ReportDetailOut:
    raw = await file.read(MAX_EML_BYTES + 1)
    if len(raw) > MAX_EML_BYTES:
        raise Invalid(f"message trop volumineux (limite {MAX_EML_BYTES // 1_048_576} Mio)",
                      "message too large", code="eml-too-large")
    report = service.submit(session, p, finess=finess, raw=raw)
    return detail_out(session, p, report)


@router.get("", summary="Mes signalements (et ceux de mon établissement pour le RSSI)")
def list_reports(p: ApiPrincipal, session: SessionDep,
                 limit: Annotated[int, Query(ge=1, le=200)] = 50,
                 offset: Annotated[int, Query(ge=0)] = 0) -> dict[str, object]:
    total, rows = service.list_reports(session, p, limit=limit, offset=offset)
    return {"total": total, "items": [report_out(r) for r in rows]}


@router.get("/counts", summary="Signalements par établissement et par verdict")
def counts(p: ApiPrincipal, session: SessionDep) -> dict[str, dict[str, int]]:
    return service.counts_for(session, p)


@router.get("/{report_id}", summary="Un signalement, son analyse et son verdict")
def get_report(report_id: int, p: ApiPrincipal, session: SessionDep) -> ReportDetailOut:
    return detail_out(session, p, service.get_report(session, p, report_id))


@router.post("/{report_id}/publish", status_code=status.HTTP_201_CREATED,
             summary="Publier des indicateurs tirés du signalement")
def publish(report_id: int, body: PublishIn, p: ApiPrincipal,
            session: SessionDep) -> EventOut:
    report = service.get_report(session, p, report_id)
    sharing = Sharing(tlp=body.tlp, pap=body.pap, scope=body.scope,
                      scope_region=body.scope_region, recipients=body.recipients)
    ev = service.publish(session, p, report, values=body.values, sharing=sharing,
                         title=body.title)
    return event_out(session, ev)
