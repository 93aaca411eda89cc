"""The agenda of a space: FHIR ``Appointment`` resources of the holder's record (her own
or booked by professionals), with a reminder through the platform's notifications (and
mail) the day before, sent once by the worker or ``esante space remind``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from esante.core.accounts.models import User
from esante.core.db import utcnow
from esante.core.errors import Invalid
from esante.core.notifications import service as notifications
from esante.core.policy import Principal
from esante.fhir.models import FhirDateIndex, FhirResource
from esante.fhir.store import Store, fhir_instant
from esante.space.documents import fhir_for
from esante.space.models import Reminder, Space

REMIND_HOURS = 24


@dataclass
class Appointment:
    fid: str
    start: datetime
    end: datetime | None
    what: str
    with_whom: str
    status: str


def _as_appointment(r: dict[str, Any], patient_fid: str) -> Appointment:
    others = [p.get("actor", {}).get("display", "") for p in r.get("participant", [])
              if p.get("actor", {}).get("reference") != f"Patient/{patient_fid}"]
    return Appointment(r["id"], datetime.fromisoformat(r["start"]),
                       datetime.fromisoformat(r["end"]) if r.get("end") else None,
                       r.get("description", ""), ", ".join(o for o in others if o),
                       r.get("status", ""))


def upcoming(session: Session, p: Principal, space: Space, *,
             past: bool = False) -> list[Appointment]:
    now = fhir_instant(utcnow())
    bundle = fhir_for(session, p).search("Appointment", [
        ("patient", space.patient_fid), ("date", f"{'lt' if past else 'ge'}{now}"),
        ("_sort", "-date" if past else "date"), ("_count", "200")]).resource or {}
    return [_as_appointment(e["resource"], space.patient_fid) for e in bundle.get("entry", [])
            if e.get("search", {}).get("mode") == "match"]


def add(session: Session, p: Principal, space: Space, *, start: datetime, minutes: int,
        what: str, with_whom: str) -> str:
    what, with_whom = " ".join(what.split())[:200], " ".join(with_whom.split())[:200]
    if len(what) < 2:
        raise Invalid("précisez l'objet du rendez-vous", "description required", code="text")
    if start.tzinfo is None:
        raise Invalid("heure du rendez-vous sans fuseau", "naive datetime", code="date")
    if start < utcnow() - timedelta(days=1):
        raise Invalid("ce rendez-vous est déjà passé", "appointment in the past", code="date")
    if not 5 <= minutes <= 600:
        raise Invalid("durée de 5 à 600 minutes", "duration 5 to 600 minutes", code="minutes")
    participants: list[dict[str, Any]] = [
        {"actor": {"reference": f"Patient/{space.patient_fid}"}, "status": "accepted"}]
    if with_whom:
        participants.append({"actor": {"display": with_whom}, "status": "accepted"})
    body = {"resourceType": "Appointment", "status": "booked", "description": what,
            "start": fhir_instant(start), "end": fhir_instant(start + timedelta(minutes=minutes)),
            "participant": participants}
    return str((fhir_for(session, p).create(body).resource or {})["id"])


def send_reminders(session: Session, *, now: datetime | None = None) -> int:
    """Notifies each holder of her booked appointments of the next 24 hours, once."""
    now = now or utcnow()
    store = Store(session)
    rows = session.execute(
        select(FhirResource, Space.holder_id).join(
            Space, Space.patient_fid == FhirResource.patient_fid).join(
            FhirDateIndex, FhirDateIndex.res_pk == FhirResource.pk).where(
            FhirResource.resource_type == "Appointment", FhirResource.deleted.is_(False),
            Space.status == "active", FhirDateIndex.param == "date",
            FhirDateIndex.low >= now, FhirDateIndex.low <= now + timedelta(hours=REMIND_HOURS),
            FhirResource.fid.not_in(select(Reminder.appointment_fid)))).all()
    sent = 0
    for row, holder_id in rows:
        r = store.to_stored(row).resource
        if r.get("status") != "booked" or holder_id is None:
            continue
        appt = _as_appointment(r, row.patient_fid or "")
        user = session.get(User, holder_id)
        if user is None:
            continue
        local = appt.start.astimezone()
        notifications.notify(
            session, user=user, title="Rappel : rendez-vous demain",
            body=f"{appt.what} le {local:%d/%m/%Y à %H:%M}"
                 + (f" avec {appt.with_whom}" if appt.with_whom else ""),
            link="/espace/agenda")
        session.add(Reminder(appointment_fid=row.fid, patient_fid=row.patient_fid or "",
                             sent_at=now))
        sent += 1
    session.flush()
    return sent
