"""Phishing reports: analyse a reported message, match its observables against the
indicators the reporter's establishment may see, give a verdict with its reasons, answer
the reporter in the app, and let the security officer publish indicators from it.

The message is kept encrypted (blob store), its analysis too; reading either is audited."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from esante.core import audit, policy
from esante.core.accounts.models import Role, ScopeKind, User
from esante.core.crypto import BlobStore, Vault
from esante.core.errors import Invalid, NotFound
from esante.core.notifications import service as notifications
from esante.core.orgs import service as orgs
from esante.core.policy import Principal
from esante.cyber.indicators import service as indicators
from esante.cyber.indicators import warninglists
from esante.cyber.indicators.access import audience_of_establishment
from esante.cyber.indicators.models import IocEvent
from esante.cyber.indicators.schemas import EventIn, IndicatorIn, Sharing
from esante.cyber.phishing import access as _access  # noqa: F401 - registers the rules
from esante.cyber.phishing.models import PhishingReport
from esante.cyber.phishing.parse import Analysis, analyse

PURPOSE = "phishing-report"
VERDICT_LABELS = {"malicious": "Malveillant", "suspicious": "Suspect", "clean": "Sans signe "
                  "d'hameçonnage"}
SUSPICIOUS_AT = 3
_WEIGHTS = (("authentification DMARC", 3), ("authentification SPF", 2),
            ("authentification DKIM", 2), ("l'adresse de réponse", 2), ("l'adresse de retour", 1),
            ("le nom affiché", 2), ("lien vers une adresse IP", 2), ("pièce jointe à risque", 3))


@dataclass(frozen=True)
class Verdict:
    verdict: str
    score: int
    reasons: list[str]
    matches: list[dict[str, Any]]


def judge(session: Session, finess: str, a: Analysis) -> Verdict:
    """Known indicators make a message malicious; otherwise its signs add up."""
    aud = audience_of_establishment(session, finess)
    wanted = {(k, v) for k, v in a.observables() if warninglists.warning_for(k, v) is None}
    matches: list[dict[str, Any]] = []
    if wanted:
        values = {v for _, v in wanted}
        for known in indicators.active_indicators(session, aud, values=values):
            if (known.kind, known.value) in wanted:
                matches.append({"kind": known.kind, "value": known.value,
                                "event_id": known.event_id, "event_title": known.event_title,
                                "tlp": known.tlp, "indicator_id": known.indicator_id})
    reasons = [f"{m['value']} est un indicateur partagé (événement « {m['event_title']} », "
               f"TLP:{m['tlp'].upper()})" for m in matches]
    score = 10 * len(matches)
    for sign in a.signs:
        score += next((w for prefix, w in _WEIGHTS if sign.startswith(prefix)), 1)
    reasons += a.signs
    verdict = "malicious" if matches else ("suspicious" if score >= SUSPICIOUS_AT else "clean")
    if not reasons:
        reasons = ["aucun indicateur connu ni signe d'usurpation dans les en-têtes"]
    return Verdict(verdict, score, reasons, matches)


def submit(session: Session, p: Principal, *, finess: str, raw: bytes) -> PhishingReport:
    est = orgs.get_establishment(session, finess)
    policy.authorize(p, "cyber.phishing.report", est.finess)
    a = analyse(raw)  # raises before anything is written
    v = judge(session, est.finess, a)
    vault = Vault(session)
    blob_id = BlobStore(vault).put(raw, purpose=PURPOSE)
    payload = json.dumps({"analysis": a.to_dict(), "reasons": v.reasons, "matches": v.matches},
                         ensure_ascii=False)
    report = PhishingReport(finess=est.finess, region_code=est.region_code,
                            reporter_id=p.user.id, size=len(raw),
                            sha256=hashlib.sha256(raw).hexdigest(), blob_id=blob_id,
                            analysis_enc="", verdict=v.verdict, score=v.score,
                            matched=len(v.matches), status="answered")
    session.add(report)
    session.flush()
    report.analysis_enc = vault.encrypt_text(payload, purpose=PURPOSE,
                                             context=f"phishing:{report.id}")
    audit.record(session, actor=p.actor, action="cyber.phishing.report",
                 object_type="phishing_report", object_id=report.id,
                 subject_user_id=p.user.id,
                 details={"finess": est.finess, "verdict": v.verdict, "matched": len(v.matches)})
    _answer(session, p.user, report, v)
    session.flush()
    return report


def _answer(session: Session, reporter: User, report: PhishingReport, v: Verdict) -> None:
    advice = {"malicious": "Ne cliquez sur aucun lien, n'ouvrez pas les pièces jointes et "
                          "supprimez le message. Le RSSI est prévenu.",
              "suspicious": "Par prudence, ne cliquez sur aucun lien et n'ouvrez pas les pièces "
                            "jointes. Le RSSI est prévenu.",
              "clean": "Aucun signe d'hameçonnage trouvé. En cas de doute, contactez l'émetteur "
                       "par un autre moyen."}[v.verdict]
    link = f"/cyber/hameconnage/{report.id}"
    notifications.notify(session, user=reporter, title=f"Signalement n°{report.id} : "
                         f"{VERDICT_LABELS[v.verdict].lower()}",
                         body=advice + "\n" + "\n".join(f"- {r}" for r in v.reasons[:10]),
                         link=link, level="warning" if v.verdict != "clean" else "info",
                         email=False)
    if v.verdict != "clean":
        notifications.notify_role(session, role=Role.SECURITY_OFFICER,
                                  scope_kind=ScopeKind.ESTABLISHMENT, scope_ref=report.finess,
                                  title=f"Hameçonnage signalé (n°{report.id}) : "
                                        f"{VERDICT_LABELS[v.verdict].lower()}",
                                  body=f"{report.matched} indicateur(s) connu(s).", link=link)


def visible(p: Principal) -> Any:
    """The reports a principal lists (the rule ``cyber.phishing.read`` as a condition)."""
    from esante.cyber.scopes import ESTABLISHMENT_STAFF, in_cell

    if in_cell(p):
        return PhishingReport.id.is_not(None)
    staff = sorted({g.scope_ref for g in p.grants_for(*ESTABLISHMENT_STAFF)
                    if g.scope_kind == ScopeKind.ESTABLISHMENT})
    return or_(PhishingReport.reporter_id == p.user.id,
               PhishingReport.finess.in_(staff or [""]))


def list_reports(session: Session, p: Principal, *, limit: int = 50,
                 offset: int = 0) -> tuple[int, list[PhishingReport]]:
    policy.authorize(p, "cyber.phishing.list")
    stmt: Select[Any] = select(PhishingReport).where(visible(p))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = list(session.scalars(stmt.order_by(PhishingReport.created_at.desc(),
                                              PhishingReport.id.desc()).limit(limit)
                                .offset(offset)))
    return total, rows


def get_report(session: Session, p: Principal, report_id: int) -> PhishingReport:
    report = session.get(PhishingReport, report_id)
    if report is None or not policy.can(p, "cyber.phishing.read", report):
        raise NotFound("signalement introuvable", "report not found")
    return report


def details(session: Session, p: Principal, report: PhishingReport) -> dict[str, Any]:
    """The decrypted analysis of a report (an audited read of personal data)."""
    policy.authorize(p, "cyber.phishing.read", report)
    data: dict[str, Any] = json.loads(Vault(session).decrypt_text(
        report.analysis_enc, context=f"phishing:{report.id}"))
    audit.record(session, actor=p.actor, action="cyber.phishing.read",
                 object_type="phishing_report", object_id=report.id,
                 subject_user_id=report.reporter_id)
    return data


def publish(session: Session, p: Principal, report: PhishingReport, *, values: list[str],
            sharing: Sharing, title: str) -> IocEvent:
    """Share chosen observables of a report as a new event of its establishment."""
    policy.authorize(p, "cyber.phishing.publish", report)
    data = details(session, p, report)
    known = {v: k for k, v in Analysis.from_dict(data["analysis"]).observables()}
    chosen = [v.strip().lower() for v in values if v.strip()]
    if not chosen:
        raise Invalid("choisissez au moins un indicateur à publier", "nothing chosen",
                      code="values")
    unknown = [v for v in chosen if v not in known]
    if unknown:
        raise Invalid(f"« {unknown[0][:80]} » ne figure pas dans ce signalement",
                      "value not in the report", code="values")
    fields = {**sharing.model_dump(), "title": title,
              "source_finess": sharing.source_finess or (
                  report.finess if not p.has_role(Role.CYBER_ANALYST) else None),
              "description": f"Indicateurs tirés du signalement d'hameçonnage n°{report.id}.",
              "indicators": [IndicatorIn.model_validate({"kind": known[v], "value": v})
                             for v in chosen]}
    ev = indicators.create_event(session, p, EventIn.model_validate(fields),
                                 phishing_report_id=report.id)
    report.status = "published"
    session.flush()
    return ev


def report_counts(session: Session, *, finesses: list[str] | None = None,
                  region: str | None = None, since: datetime | None = None
                  ) -> dict[str, dict[str, int]]:
    """Reports per establishment, by verdict (``total`` too), for the awareness dashboard:
    counts only, no content."""
    stmt = select(PhishingReport.finess, PhishingReport.verdict, func.count()).group_by(
        PhishingReport.finess, PhishingReport.verdict)
    if finesses is not None:
        stmt = stmt.where(PhishingReport.finess.in_(finesses or [""]))
    if region:
        stmt = stmt.where(PhishingReport.region_code == region)
    if since:
        stmt = stmt.where(PhishingReport.created_at >= since)
    out: dict[str, dict[str, int]] = {}
    for finess, verdict, n in session.execute(stmt):
        row = out.setdefault(finess, {"total": 0, "malicious": 0, "suspicious": 0, "clean": 0})
        row[verdict] = n
        row["total"] += n
    return out


def counts_for(session: Session, p: Principal) -> dict[str, dict[str, int]]:
    """``report_counts`` within the caller's scope (cell: all; agency: its region; staff:
    their establishments)."""
    from esante.cyber.scopes import ESTABLISHMENT_STAFF, in_cell

    policy.authorize(p, "cyber.phishing.counts")
    if in_cell(p):
        return report_counts(session)
    out: dict[str, dict[str, int]] = {}
    for g in p.grants_for(Role.REGIONAL_OFFICER):
        out |= report_counts(session, region=g.scope_ref)
    mine = [g.scope_ref for g in p.grants_for(*ESTABLISHMENT_STAFF)
            if g.scope_kind == ScopeKind.ESTABLISHMENT]
    if mine:
        out |= report_counts(session, finesses=mine)
    return out
