"""The audit trail seen through FHIR: ``GET /fhir/AuditEvent?patient=...`` lists every
access to a patient's record as AuditEvent resources, built from the platform's
hash-chained audit trail (the one source of truth, never a copy)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from esante.core.accounts.models import User
from esante.core.audit import AuditEvent
from esante.core.policy import can
from esante.fhir import search as fsearch
from esante.fhir.outcome import FhirError, Issue, operation_outcome
from esante.fhir.store import fhir_instant
from esante.fhir.values import date_range, split_reference

if TYPE_CHECKING:
    from esante.fhir.service import Fhir

ACTIONS = {"fhir.create": ("C", "create"), "fhir.read": ("R", "read"),
           "fhir.vread": ("R", "vread"), "fhir.search": ("E", "search-type"),
           "fhir.history": ("R", "history-instance"), "fhir.update": ("U", "update"),
           "fhir.patch": ("U", "patch"), "fhir.delete": ("D", "delete"),
           "fhir.break-glass": ("E", "operation"), "fhir.export": ("E", "operation")}


def as_fhir(ev: AuditEvent, names: dict[int, str]) -> dict[str, Any]:
    action, interaction = ACTIONS.get(ev.action, ("E", "operation"))
    who = names.get(ev.actor_id or 0, ev.actor_label)
    out: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": str(ev.id),
        "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
                 "code": "rest", "display": "RESTful Operation"},
        "subtype": [{"system": "http://hl7.org/fhir/restful-interaction",
                     "code": interaction}],
        "action": action,
        "recorded": fhir_instant(ev.at),
        "outcome": "0" if ev.outcome == "success" else "4",
        "agent": [{"who": {"display": who}, "requestor": True}],
        "source": {"observer": {"display": "esante"}},
        "entity": [{"what": {"reference": ev.patient_ref}}] if ev.patient_ref else [],
    }
    if ev.object_id and "/" in ev.object_id and not ev.object_id.endswith("/?"):
        out["entity"].append({"what": {"reference": ev.object_id}})
    if ev.justification:
        out["purposeOfEvent"] = [{"text": ev.justification}]
    if ev.ip:
        out["agent"][0]["network"] = {"address": ev.ip, "type": "2"}
    return out


def search_audit_events(fhir: Fhir, items: Sequence[tuple[str, str]], *,
                        strict: bool) -> dict[str, Any]:
    patient = None
    count, offset = fsearch.DEFAULT_COUNT, 0
    q = select(AuditEvent).where(AuditEvent.patient_ref.is_not(None))
    ignored: list[Issue] = []
    for key, value in items:
        if key in ("patient", "entity", "subject"):
            target = split_reference(value) or ("Patient", value)
            patient = target[1]
            q = q.where(AuditEvent.patient_ref == f"Patient/{patient}")
        elif key == "date":
            prefix, raw = fsearch._split_prefix(value)
            lo, hi = date_range(raw)
            q = q.where({"ge": AuditEvent.at >= lo, "gt": AuditEvent.at > hi,
                         "le": AuditEvent.at <= hi, "lt": AuditEvent.at < lo}.get(
                prefix, (AuditEvent.at >= lo) & (AuditEvent.at <= hi)))
        elif key in ("_count", "_offset"):
            if not value.isdigit() or (key == "_count" and int(value) > fsearch.MAX_COUNT):
                raise FhirError(400, f"{key} invalide : {value[:20]}", f"invalid {key}",
                                code="value")
            count, offset = (int(value), offset) if key == "_count" else (count, int(value))
        elif key not in fsearch.RESULT_PARAMS:
            fr = f"paramètre de recherche inconnu pour AuditEvent : {key[:60]}"
            if strict:
                raise FhirError(400, fr, f"unknown search parameter: {key[:60]}",
                                code="not-supported")
            ignored.append(Issue(fr + " (ignoré)", "ignored", "not-supported", severity="warning"))
    admin = can(fhir.p, "audit.read")
    if not admin:
        if patient is None:
            raise FhirError(400, "préciser patient=… (vos propres accès)",
                            "patient=... is required", code="required")
        if not fhir.access.holds(patient):
            raise FhirError(403, "seul le titulaire du dossier voit qui y a accédé",
                            "only the record holder sees who accessed it", code="forbidden")
    total = fhir.session.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = fhir.session.scalars(q.order_by(AuditEvent.id.desc()).limit(count).offset(offset)).all()
    ids = {r.actor_id for r in rows if r.actor_id}
    names = dict(fhir.session.execute(select(User.id, User.display_name)
                                      .where(User.id.in_(ids))).all()) if ids else {}
    entries: list[dict[str, Any]] = [
        {"fullUrl": f"{fhir.base}/AuditEvent/{r.id}", "resource": as_fhir(r, names),
         "search": {"mode": "match"}} for r in rows]
    if ignored:
        entries.append({"resource": operation_outcome(ignored), "search": {"mode": "outcome"}})
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "total": total,
                              "link": [{"relation": "self", "url": f"{fhir.base}/AuditEvent"}]}
    if entries:
        bundle["entry"] = entries
    return bundle
