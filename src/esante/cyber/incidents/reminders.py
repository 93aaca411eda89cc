"""Deadline reminders: each open obligation gets one reminder when it comes near (a
quarter of its window, at most 12 h, before it is due) and one when it is overdue, in the
app and by e-mail (the notification outbox) to the establishment's security officers and
director."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from esante.core.accounts.models import Role
from esante.core.db import utcnow
from esante.core.notifications import service as notifications
from esante.cyber.incidents.models import Incident, ReminderSent
from esante.cyber.incidents.rules import PARIS, Status
from esante.cyber.incidents.service import obligations_of

SOON = timedelta(hours=12)


def send_reminders(session: Session, now: datetime | None = None) -> int:
    """Returns how many reminders were sent."""
    now = now or utcnow()
    sent = {(r.incident_id, r.obligation, r.stage) for r in session.scalars(select(ReminderSent))}
    count = 0
    incidents = session.scalars(select(Incident).where(
        Incident.status.not_in([Status.DRAFT, Status.CLOSED])))
    for incident in incidents:
        for ob in obligations_of(session, incident):
            if ob.done_at is not None or ob.due_at is None:
                continue
            window = ob.due_at - (incident.detected_at or ob.due_at)
            soon = min(SOON, window / 4)
            stage = "overdue" if now > ob.due_at else "soon" if now > ob.due_at - soon else None
            if stage is None or (incident.id, ob.code, stage) in sent:
                continue
            due = ob.due_at.astimezone(PARIS).strftime("%d/%m/%Y à %H:%M")
            title = (f"En retard : {ob.label} ({incident.reference})" if stage == "overdue"
                     else f"Échéance proche : {ob.label} ({incident.reference})")
            for role in (Role.SECURITY_OFFICER, Role.DIRECTOR):
                notifications.notify_role(
                    session, role=role, scope_kind="establishment", scope_ref=incident.finess,
                    title=title, body=f"Échéance : {due} (heure de Paris), destinataire : "
                    f"{ob.authority}.", link=f"/cyber/incidents/{incident.id}",
                    level="error" if stage == "overdue" else "warning")
            session.add(ReminderSent(incident_id=incident.id, obligation=ob.code, stage=stage,
                                     sent_at=now))
            sent.add((incident.id, ob.code, stage))
            count += 1
    session.flush()
    return count
