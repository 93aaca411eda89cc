"""The agenda: Appointments of the record (the citizen's or a professional's), a reminder
the day before, sent once, to the holder only."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from esante.core.db import utcnow
from esante.core.notifications.models import Notification
from esante.fhir.store import fhir_instant
from esante.space.agenda import send_reminders

API = "/api/space/appointments"


def test_appointments_and_reminders(client, personas, space, fhir, db) -> None:
    auth = personas.auth("citizen")
    soon = utcnow() + timedelta(hours=20)
    r = client.post(API, json={"start": soon.isoformat(), "minutes": 20,
                               "what": "Prise de sang", "with_whom": "Laboratoire Pasteur"},
                    headers=auth)
    assert r.status_code == 201, r.text
    later = utcnow() + timedelta(days=10)
    booked = fhir("doctor", "POST", "/Appointment", {
        "resourceType": "Appointment", "status": "booked", "description": "Consultation",
        "start": fhir_instant(later), "end": fhir_instant(later + timedelta(minutes=15)),
        "participant": [{"actor": {"reference": f"Patient/{space.patient}"}, "status": "accepted"},
                        {"actor": {"display": "Dr Doctor"}, "status": "accepted"}]})
    assert booked.status_code == 201, booked.text
    listed = client.get(API, headers=auth).json()
    assert [a["what"] for a in listed] == ["Prise de sang", "Consultation"]
    assert listed[1]["with_whom"] == "Dr Doctor"
    past = client.post(API, json={"start": (utcnow() - timedelta(days=3)).isoformat(),
                                  "what": "Trop tard"}, headers=auth)
    assert past.status_code == 422 and "déjà passé" in past.json()["detail"]
    # The reminder: the one of the next 24 hours only, once.
    assert send_reminders(db) == 1
    assert send_reminders(db) == 0
    notes = db.scalars(select(Notification).where(
        Notification.user_id == personas.users["citizen"].id)).all()
    assert [n.title for n in notes] == ["Rappel : rendez-vous demain"]
    assert "Prise de sang" in notes[0].body and "Laboratoire Pasteur" in notes[0].body
    assert send_reminders(db, now=later - timedelta(hours=2)) == 1
