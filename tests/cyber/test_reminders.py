"""Deadline reminders: once when near, once when overdue, to the establishment's staff,
in the app and by the mail outbox."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from esante.core.notifications.models import Notification
from esante.cyber.incidents.models import Incident
from esante.cyber.incidents.reminders import send_reminders


def notes(db, who: str, personas) -> list[str]:  # type: ignore[no-untyped-def]
    return list(db.scalars(select(Notification.title).where(
        Notification.user_id == personas.users[who].id).order_by(Notification.id)))


def test_cnil_reminders_soon_then_overdue_each_once(db, personas, declare) -> None:
    inc = declare()  # personal data breached: CNIL within 72 h of detection
    incident = db.get(Incident, inc["id"])
    detected = incident.detected_at
    assert send_reminders(db, now=detected + timedelta(hours=10)) == 0
    assert send_reminders(db, now=detected + timedelta(hours=61)) == 1
    assert send_reminders(db, now=detected + timedelta(hours=62)) == 0
    assert send_reminders(db, now=detected + timedelta(hours=73)) == 1
    assert send_reminders(db, now=detected + timedelta(hours=90)) == 0
    titles = notes(db, "rssi_a", personas)
    assert any(t.startswith("Échéance proche : Notification de violation") for t in titles)
    assert any(t.startswith("En retard : Notification de violation") for t in titles)
    assert notes(db, "rssi_b", personas) == []


def test_no_reminder_once_the_report_is_sent(client, db, personas, declare) -> None:
    inc = declare()
    client.post(f"/api/cyber/incidents/{inc['id']}/reports/cnil",
                headers=personas.auth("rssi_a"), json={"text": ""})
    incident = db.get(Incident, inc["id"])
    assert send_reminders(db, now=incident.detected_at + timedelta(hours=100)) == 0
    assert db.scalar(select(func.count()).select_from(Notification).where(
        Notification.title.like("En retard%"))) == 0
