"""Incident rules: drafts and declaration (idempotent), the national cell's handling,
the regional view, the timeline, evidence, obligations and their reports.

Plain functions taking the session and the acting principal; the access policy is asked
here, so that the API and the pages cannot forget it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import Session

from esante.core import audit, policy
from esante.core.accounts.models import Role, RoleAssignment, User
from esante.core.crypto import BlobStore, Vault
from esante.core.db import utcnow
from esante.core.errors import Conflict, Invalid, NotFound
from esante.core.notifications import service as notifications
from esante.core.orgs import service as orgs
from esante.core.orgs.models import Establishment
from esante.core.policy import Principal
from esante.cyber.incidents import access as _access  # noqa: F401 - registers the rules
from esante.cyber.incidents import evidence
from esante.cyber.incidents.models import (
    Incident,
    IncidentAttachment,
    IncidentEvent,
    IncidentReport,
    IncidentTask,
    SecurityProfile,
)
from esante.cyber.incidents.rules import (
    CATEGORY_LABELS,
    OBLIGATION_LABELS,
    STATUS_LABELS,
    Obligation,
    Status,
    obligations,
    severity,
    transition_allowed,
)
from esante.cyber.incidents.schemas import IncidentFields

REQUIRED_ON_SUBMIT = ("title", "description", "detected_at", "categories", "malicious")
FIELD_LABELS = {"title": "titre", "description": "description", "detected_at":
                "date de détection", "categories": "catégories", "malicious":
                "caractère malveillant ou accidentel"}
CLOCK_SKEW = timedelta(minutes=5)
ESCALATION_LABELS = {"hfds": "Haut fonctionnaire de défense et de sécurité (ministère)",
                     "crisis_centre": "Centre de crise sanitaire (CORRUSS)",
                     "ars": "Agence régionale de santé"}


# --- security profile ------------------------------------------------------------------------

def get_profile(session: Session, p: Principal, finess: str) -> tuple[Establishment,
                                                                       SecurityProfile | None]:
    est = orgs.get_establishment(session, finess)
    policy.authorize(p, "cyber.profile.read", est)
    profile = session.scalar(select(SecurityProfile).where(
        SecurityProfile.establishment_id == est.id))
    return est, profile


def save_profile(session: Session, p: Principal, finess: str, data: dict[str, Any]) -> SecurityProfile:
    est = orgs.get_establishment(session, finess)
    policy.authorize(p, "cyber.profile.update", est)
    profile = session.scalar(select(SecurityProfile).where(
        SecurityProfile.establishment_id == est.id))
    if profile is None:
        profile = SecurityProfile(establishment_id=est.id)
        session.add(profile)
    for key, value in data.items():
        setattr(profile, key, value)
    profile.updated_at, profile.updated_by = utcnow(), p.user.id
    audit.record(session, actor=p.actor, action="cyber.profile.update",
                 object_type="establishment", object_id=est.finess,
                 details={"fields": sorted(data)})
    session.flush()
    return profile


# --- declaration ------------------------------------------------------------------------------

def _event(session: Session, incident: Incident, p: Principal | None, kind: str, text: str = "",
           **data: Any) -> IncidentEvent:
    ev = IncidentEvent(incident_id=incident.id, at=utcnow(),
                       actor_id=p.user.id if p else None,
                       actor_label=p.user.display_name if p else "plateforme", kind=kind,
                       text=text, data=data)
    session.add(ev)
    return ev


def _apply(incident: Incident, fields: IncidentFields) -> list[str]:
    changed = []
    for name, value in fields.model_dump(exclude_unset=True).items():
        if value is None:
            continue
        if name == "categories":
            value = sorted({str(c) for c in value})
        setattr(incident, name, value)
        changed.append(name)
    return changed


def save_declaration(session: Session, p: Principal, *, finess: str, idempotency_key: str,
                     fields: IncidentFields, submit: bool) -> tuple[Incident, bool]:
    """Create or update the draft identified by (declarant, key); submit it if asked.
    Returns (incident, created). The same key sent twice never makes two incidents."""
    est = orgs.get_establishment(session, finess)
    policy.authorize(p, "cyber.incident.declare", est)
    incident = session.scalar(select(Incident).where(
        Incident.declarant_id == p.user.id, Incident.idempotency_key == idempotency_key))
    created = incident is None
    if incident is None:
        incident = Incident(establishment_id=est.id, finess=est.finess,
                            region_code=est.region_code, declarant_id=p.user.id,
                            idempotency_key=idempotency_key, status=Status.DRAFT)
        session.add(incident)
        session.flush()
        _event(session, incident, p, "created", "brouillon créé")
    elif incident.finess != est.finess:
        raise Conflict("cette clé d'idempotence désigne un incident d'un autre établissement",
                       "this idempotency key belongs to another establishment's incident")
    if incident.status != Status.DRAFT:
        # A retried submission: the incident exists, answer it unchanged.
        return incident, False
    changed = _apply(incident, fields)
    incident.updated_at = utcnow()
    incident.version += 1 if not created else 0
    if changed and not created:
        _event(session, incident, p, "draft_saved", "brouillon enregistré", fields=changed)
    if submit:
        _submit(session, p, incident, est)
    session.flush()
    return incident, created


def _check_complete(incident: Incident, now: datetime) -> None:
    missing = [FIELD_LABELS[f] for f in REQUIRED_ON_SUBMIT
               if getattr(incident, f) in (None, "", [])]
    if missing:
        raise Invalid(f"déclaration incomplète : {', '.join(missing)}",
                      f"incomplete declaration: {', '.join(missing)}", code="incomplete")
    detected = incident.detected_at
    assert detected is not None
    if detected > now + CLOCK_SKEW:
        raise Invalid("la date de détection est dans le futur",
                      "the detection time is in the future", code="detected_at")
    if incident.started_at and incident.started_at > detected:
        raise Invalid("le début de l'incident ne peut suivre sa détection",
                      "the start cannot follow the detection", code="started_at")


def _submit(session: Session, p: Principal, incident: Incident, est: Establishment) -> None:
    now = utcnow()
    _check_complete(incident, now)
    profile = session.scalar(select(SecurityProfile).where(
        SecurityProfile.establishment_id == est.id))
    incident.nis2_in_scope = bool(profile and profile.nis2_in_scope)
    incident.status = Status.DECLARED
    incident.declared_at = now
    year = now.year
    count = session.scalar(select(func.count()).select_from(Incident).where(
        Incident.reference.like(f"INC-{year}-%"))) or 0
    incident.reference = f"INC-{year}-{count + 1:05d}"
    _event(session, incident, p, "declared", f"incident déclaré ({incident.reference})")
    audit.record(session, actor=p.actor, action="cyber.incident.declare",
                 object_type="incident", object_id=incident.reference,
                 details={"finess": est.finess, "categories": incident.categories})
    title = f"Nouvel incident {incident.reference} — {est.name}"
    link = f"/cyber/incidents/{incident.id}"
    notifications.notify_role(session, role=Role.CYBER_ANALYST, title=title, link=link,
                              body=incident.title, level="warning")
    notifications.notify_role(session, role=Role.REGIONAL_OFFICER, scope_kind="region",
                              scope_ref=est.region_code, title=title, link=link,
                              body=incident.title, level="warning")


def find_draft(session: Session, p: Principal, key: str) -> Incident | None:
    return session.scalar(select(Incident).where(
        Incident.declarant_id == p.user.id, Incident.idempotency_key == key))


def update_fields(session: Session, p: Principal, incident: Incident, fields: IncidentFields, *,
                  expected_version: int | None = None) -> Incident:
    """Complete a declaration later: the establishment adds what it learns."""
    policy.authorize(p, "cyber.incident.edit", incident)
    if incident.status == Status.CLOSED:
        raise Invalid("un incident clos ne se modifie plus", "a closed incident is read-only",
                      code="status")
    _check_version(incident, expected_version)
    changed = _apply(incident, fields)
    if not changed:
        return incident
    if incident.status != Status.DRAFT:
        _check_complete(incident, incident.declared_at or utcnow())
    incident.version += 1
    incident.updated_at = utcnow()
    _event(session, incident, p, "draft_saved" if incident.status == Status.DRAFT else "completed",
           "déclaration complétée", fields=changed)
    session.flush()
    return incident


def submit(session: Session, p: Principal, incident: Incident) -> Incident:
    policy.authorize(p, "cyber.incident.edit", incident)
    if incident.status != Status.DRAFT:
        return incident  # already declared: a retry changes nothing
    est = session.get(Establishment, incident.establishment_id)
    assert est is not None
    _submit(session, p, incident, est)
    session.flush()
    return incident


# --- reading -------------------------------------------------------------------------------

def get_incident(session: Session, p: Principal, incident_id: int,
                 permission: str = "cyber.incident.read") -> Incident:
    incident = session.get(Incident, incident_id)
    if incident is None or not policy.can(p, "cyber.incident.read", incident):
        # Hidden and absent look the same: no probing of other establishments' incidents.
        raise NotFound("incident introuvable", "incident not found")
    policy.authorize(p, permission, incident)
    if incident.status == Status.DRAFT and incident.declarant_id != p.user.id and \
            not policy.can(p, "cyber.incident.edit", incident):
        raise NotFound("incident introuvable", "incident not found")
    return incident


def visible(p: Principal) -> Any:
    """The incidents a principal may see, as a condition (the same rule as get_incident)."""
    if p.has_role(Role.CYBER_ANALYST):
        return Incident.status != Status.DRAFT
    conds: list[Any] = []
    staff = [g.scope_ref for g in p.grants_for(Role.SECURITY_OFFICER, Role.DIRECTOR)
             if g.scope_kind == "establishment"]
    if staff:
        conds.append(Incident.finess.in_(staff))
    regions = [g.scope_ref for g in p.grants_for(Role.REGIONAL_OFFICER)]
    if regions:
        conds.append(Incident.region_code.in_(regions) & (Incident.status != Status.DRAFT))
    if not conds:
        return Incident.id.is_(None)
    return or_(*conds)


def list_incidents(session: Session, p: Principal, *, status: str | None = None,
                   finess: str | None = None, region: str | None = None, limit: int = 50,
                   offset: int = 0, queue: bool = False) -> tuple[int, list[Incident]]:
    policy.authorize(p, "cyber.incident.queue")
    stmt: Select[Any] = select(Incident).where(visible(p))
    if status:
        stmt = stmt.where(Incident.status == status)
    if finess:
        stmt = stmt.where(Incident.finess == finess)
    if region:
        stmt = stmt.where(Incident.region_code == region)
    if queue:
        stmt = stmt.where(Incident.status.not_in([Status.DRAFT, Status.CLOSED]))
        order = [func.coalesce(Incident.severity, 5).desc(),
                 case((Incident.status == Status.DECLARED, 0), else_=1),
                 Incident.declared_at.asc()]
    else:
        order = [Incident.updated_at.desc()]
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = list(session.scalars(stmt.order_by(*order).limit(limit).offset(offset)))
    return total, rows


def timeline(session: Session, incident: Incident) -> list[IncidentEvent]:
    return list(session.scalars(select(IncidentEvent).where(
        IncidentEvent.incident_id == incident.id).order_by(IncidentEvent.at, IncidentEvent.id)))


def obligations_of(session: Session, incident: Incident) -> list[Obligation]:
    if incident.detected_at is None:
        return []
    reports = dict(session.execute(select(IncidentReport.obligation, IncidentReport.submitted_at)
                                   .where(IncidentReport.incident_id == incident.id)).all())
    return obligations(detected_at=incident.detected_at, declared_at=incident.declared_at,
                       personal_data_breach=incident.personal_data_breach,
                       nis2_in_scope=incident.nis2_in_scope, reports=reports)


# --- handling by the national cell -------------------------------------------------------------

def _check_version(incident: Incident, expected: int | None) -> None:
    if expected is not None and expected != incident.version:
        raise Conflict(f"l'incident a été modifié entre-temps (version {incident.version}, "
                       f"attendue {expected}) : rechargez la page",
                       "the incident changed meanwhile", code="version")


def transition(session: Session, p: Principal, incident: Incident, target: str, *,
               reason: str = "", expected_version: int | None = None) -> Incident:
    who = transition_allowed(incident.status, target)
    if who is None:
        raise Invalid(f"passage impossible de « {STATUS_LABELS.get(incident.status, '?')} » à "
                      f"« {STATUS_LABELS.get(target, target[:20])} »",
                      f"transition {incident.status} → {target[:20]} not allowed",
                      code="transition")
    policy.authorize(p, "cyber.incident.triage" if who == "cell" else "cyber.incident.edit",
                     incident)
    _check_version(incident, expected_version)
    if incident.status == Status.DRAFT:
        # Declaring is submitting: completeness checks, reference, notices.
        return submit(session, p, incident)
    now = utcnow()
    if target == Status.QUALIFIED and incident.severity is None:
        raise Invalid("qualifier d'abord la gravité (grille)", "qualify the severity first",
                      code="severity")
    if target == Status.CLOSED and not reason.strip():
        raise Invalid("un bilan de clôture est requis", "a closing summary is required",
                      code="reason")
    if incident.status == Status.CLOSED and not reason.strip():
        raise Invalid("le motif de réouverture est requis", "a reason to re-open is required",
                      code="reason")
    previous = incident.status
    incident.status = target
    incident.version += 1
    incident.updated_at = now
    if target == Status.ACKNOWLEDGED:
        incident.acknowledged_at = now
    elif target == Status.CLOSED:
        incident.closed_at = now
    elif previous == Status.CLOSED:
        incident.closed_at = None
    _event(session, incident, p, "status", reason, previous=previous, status=target)
    audit.record(session, actor=p.actor, action="cyber.incident.status",
                 object_type="incident", object_id=incident.reference or incident.id,
                 details={"from": previous, "to": target})
    if target == Status.ACKNOWLEDGED:
        _notify_establishment(session, incident, f"Incident {incident.reference} pris en compte "
                              "par la cellule nationale")
    session.flush()
    return incident


def qualify(session: Session, p: Principal, incident: Incident, *, care: int, data: int,
            spread: int, comment: str = "") -> Incident:
    policy.authorize(p, "cyber.incident.triage", incident)
    if incident.status == Status.DECLARED:
        transition(session, p, incident, Status.ACKNOWLEDGED)
    level = severity(care, data, spread)
    incident.severity = level
    incident.severity_factors = {"care": care, "data": data, "spread": spread}
    incident.major = level == 4
    incident.qualified_at = utcnow()
    _event(session, incident, p, "qualified", comment, severity=level,
           care=care, data=data, spread=spread)
    if incident.status == Status.ACKNOWLEDGED:
        transition(session, p, incident, Status.QUALIFIED)
    session.flush()
    return incident


def assign(session: Session, p: Principal, incident: Incident, analyst_id: int) -> Incident:
    policy.authorize(p, "cyber.incident.triage", incident)
    analyst = session.get(User, analyst_id)
    is_analyst = analyst is not None and session.scalar(select(func.count()).select_from(
        RoleAssignment).where(RoleAssignment.user_id == analyst_id,
                              RoleAssignment.role == Role.CYBER_ANALYST))
    if not is_analyst:
        raise Invalid("l'affectation se fait à un analyste de la cellule nationale",
                      "assign to a national cell analyst", code="assignee")
    assert analyst is not None
    incident.assignee_id = analyst.id
    incident.version += 1
    _event(session, incident, p, "assigned", f"affecté à {analyst.display_name}",
           assignee=analyst.id)
    notifications.notify(session, user=analyst, title=f"Incident {incident.reference} vous est "
                         "affecté", link=f"/cyber/incidents/{incident.id}")
    session.flush()
    return incident


def request_info(session: Session, p: Principal, incident: Incident, question: str) -> IncidentEvent:
    policy.authorize(p, "cyber.incident.triage", incident)
    ev = _event(session, incident, p, "info_request", question, open=True)
    session.flush()
    _notify_establishment(session, incident, f"La cellule nationale demande des précisions sur "
                          f"{incident.reference}", body=question)
    return ev


def answer_info(session: Session, p: Principal, incident: Incident, request_id: int,
                text: str) -> IncidentEvent:
    policy.authorize(p, "cyber.incident.edit", incident)
    request = session.get(IncidentEvent, request_id)
    if request is None or request.incident_id != incident.id or request.kind != "info_request":
        raise NotFound("demande de précisions introuvable", "information request not found")
    if not request.data.get("open"):
        raise Conflict("cette demande a déjà reçu une réponse", "already answered")
    request.data = {**request.data, "open": False}
    ev = _event(session, incident, p, "info_answer", text, request_id=request_id)
    if incident.assignee_id:
        analyst = session.get(User, incident.assignee_id)
        if analyst:
            notifications.notify(session, user=analyst, title=f"Réponse sur {incident.reference}",
                                 link=f"/cyber/incidents/{incident.id}")
    session.flush()
    return ev


def add_note(session: Session, p: Principal, incident: Incident, text: str) -> IncidentEvent:
    policy.authorize(p, "cyber.incident.note", incident)
    ev = _event(session, incident, p, "note", text)
    session.flush()
    return ev


def add_task(session: Session, p: Principal, incident: Incident, title: str,
             owner: str) -> IncidentTask:
    policy.authorize(p, "cyber.incident.triage", incident)
    task = IncidentTask(incident_id=incident.id, title=title, owner=owner)
    session.add(task)
    session.flush()
    _event(session, incident, p, "task", title, task_id=task.id, owner=owner)
    return task


def complete_task(session: Session, p: Principal, incident: Incident, task_id: int) -> IncidentTask:
    task = session.get(IncidentTask, task_id)
    if task is None or task.incident_id != incident.id:
        raise NotFound("tâche introuvable", "task not found")
    policy.authorize(p, "cyber.incident.triage" if task.owner == "cell"
                     else "cyber.incident.edit", incident)
    if task.done_at is None:
        task.done_at = utcnow()
        _event(session, incident, p, "task_done", task.title, task_id=task.id)
    session.flush()
    return task


def escalate(session: Session, p: Principal, incident: Incident, targets: list[str],
             reason: str) -> IncidentEvent:
    """Escalation of a major incident: the regional agency is notified in the app; the
    ministry's security officer and the crisis centre by e-mail when their addresses are
    configured. Every escalation is recorded on the timeline."""
    policy.authorize(p, "cyber.incident.triage", incident)
    if incident.status in (Status.DRAFT, Status.CLOSED):
        raise Invalid("on n'escalade qu'un incident déclaré et ouvert",
                      "only an open declared incident can be escalated", code="status")
    reached = {}
    for target in dict.fromkeys(targets):
        if target == "ars":
            reached[target] = notifications.notify_role(
                session, role=Role.REGIONAL_OFFICER, scope_kind="region",
                scope_ref=incident.region_code, level="error",
                title=f"Escalade : incident majeur {incident.reference}", body=reason,
                link=f"/cyber/incidents/{incident.id}")
        else:
            reached[target] = notifications.send_external(
                session, to_setting=target, subject=f"Incident majeur {incident.reference}",
                body=f"{ESCALATION_LABELS[target]} : {reason}")
    ev = _event(session, incident, p, "escalated", reason, targets=list(reached), reached=reached)
    audit.record(session, actor=p.actor, action="cyber.incident.escalate", object_type="incident",
                 object_id=incident.reference or incident.id, details={"targets": list(reached)})
    session.flush()
    return ev


def _notify_establishment(session: Session, incident: Incident, title: str, body: str = "") -> None:
    for role in (Role.SECURITY_OFFICER, Role.DIRECTOR):
        notifications.notify_role(session, role=role, scope_kind="establishment",
                                  scope_ref=incident.finess, title=title, body=body,
                                  link=f"/cyber/incidents/{incident.id}")


# --- evidence ---------------------------------------------------------------------------------

def add_attachment(session: Session, p: Principal, incident: Incident, *, filename: str,
                   declared_type: str, data: bytes) -> IncidentAttachment:
    policy.authorize(p, "cyber.incident.edit", incident)
    ctype = evidence.sniff(data, filename, declared_type)
    blob_id = BlobStore(Vault(session)).put(data, purpose="incident-evidence")
    att = IncidentAttachment(incident_id=incident.id, filename=filename[:200],
                             content_type=ctype, size=len(data),
                             sha256=hashlib.sha256(data).hexdigest(), blob_id=blob_id,
                             uploaded_by=p.user.id)
    session.add(att)
    session.flush()
    _event(session, incident, p, "attachment", att.filename, sha256=att.sha256, size=att.size)
    return att


def read_attachment(session: Session, p: Principal, incident: Incident,
                    attachment_id: int) -> tuple[IncidentAttachment, bytes]:
    att = session.get(IncidentAttachment, attachment_id)
    if att is None or att.incident_id != incident.id:
        raise NotFound("pièce introuvable", "attachment not found")
    data = BlobStore(Vault(session)).get(att.blob_id)
    if hashlib.sha256(data).hexdigest() != att.sha256:
        raise Conflict("empreinte de la pièce différente : pièce altérée",
                       "attachment hash mismatch", code="tampered")
    audit.record(session, actor=p.actor, action="cyber.evidence.read", object_type="attachment",
                 object_id=att.id, details={"incident": incident.reference})
    return att, data


# --- obligations and their reports -------------------------------------------------------------

@dataclass(frozen=True)
class ReportDraft:
    obligation: str
    text: str
    content: dict[str, Any]


def draft_report(session: Session, p: Principal, incident: Incident, obligation: str) -> ReportDraft:
    policy.authorize(p, "cyber.incident.read", incident)
    codes = {o.code for o in obligations_of(session, incident)}
    if obligation not in codes or obligation == "health_declaration":
        raise NotFound("cette obligation ne s'applique pas à l'incident",
                       "this obligation does not apply", code="obligation")
    est = session.get(Establishment, incident.establishment_id)
    assert est is not None
    label, authority = OBLIGATION_LABELS[obligation]
    cats = "; ".join(CATEGORY_LABELS.get(c, c) for c in incident.categories)
    data = incident.data_impact or {}
    care = incident.care_impact or {}
    content = {
        "obligation": obligation, "authority": authority, "incident": incident.reference,
        "establishment": {"finess": est.finess, "name": est.name},
        "detected_at": incident.detected_at.isoformat() if incident.detected_at else None,
        "started_at": incident.started_at.isoformat() if incident.started_at else None,
        "categories": incident.categories, "malicious": incident.malicious,
        "description": incident.description, "measures_taken": incident.measures_taken,
        "care_impact": care, "data_impact": data, "third_parties": incident.third_parties,
        "personal_data_breach": incident.personal_data_breach,
    }
    malicious = {"yes": "malveillant", "no": "accidentel"}.get(incident.malicious, "indéterminé")
    lines = [
        f"{label} — destinataire : {authority}",
        f"Incident {incident.reference} — {est.name} (FINESS {est.finess})",
        f"Détecté le {_fr(incident.detected_at)}"
        + (f", débuté le {_fr(incident.started_at)}" if incident.started_at else ""),
        f"Nature : {malicious}. Catégories : {cats}.",
        f"Description : {incident.description}",
        f"Impact sur les soins : {'mode dégradé' if care.get('degraded_mode') else 'aucun mode dégradé'}"
        f", {care.get('transfers', 0)} transfert(s), {care.get('cancelled_care', 0)} soin(s) "
        "déprogrammé(s).",
        f"Impact sur les données : confidentialité {_yn(data.get('confidentiality'))}, intégrité "
        f"{_yn(data.get('integrity'))}, disponibilité {_yn(data.get('availability'))} ; "
        f"{data.get('people_affected', 0)} personne(s) concernée(s).",
        f"Mesures prises : {incident.measures_taken or '—'}",
    ]
    if incident.third_parties:
        lines.append(f"Tiers ou prestataires concernés : {incident.third_parties}")
    return ReportDraft(obligation, "\n".join(lines), content)


def submit_report(session: Session, p: Principal, incident: Incident, obligation: str,
                  text: str) -> IncidentReport:
    policy.authorize(p, "cyber.incident.edit", incident)
    draft = draft_report(session, p, incident, obligation)
    existing = session.scalar(select(IncidentReport).where(
        IncidentReport.incident_id == incident.id, IncidentReport.obligation == obligation))
    if existing:
        raise Conflict("ce rapport a déjà été transmis", "report already submitted",
                       code="duplicate")
    report = IncidentReport(incident_id=incident.id, obligation=obligation, submitted_at=utcnow(),
                            submitted_by=p.user.id, text=text or draft.text,
                            content=draft.content)
    session.add(report)
    if obligation == "cnil":
        incident.cnil_notified = True
    _event(session, incident, p, "report", OBLIGATION_LABELS[obligation][0], obligation=obligation)
    audit.record(session, actor=p.actor, action="cyber.incident.report", object_type="incident",
                 object_id=incident.reference or incident.id, details={"obligation": obligation})
    session.flush()
    return report


def _fr(at: datetime | None) -> str:
    from esante.cyber.incidents.rules import PARIS

    return at.astimezone(PARIS).strftime("%d/%m/%Y à %H:%M") if at else "—"


def _yn(value: object) -> str:
    return "atteinte" if value else "non atteinte"
