"""Notices to the holders of a patient record (break-glass access)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from esante.core.accounts.models import User
from esante.core.notifications import service as notifications
from esante.fhir.models import PatientLink


def notify_holders(session: Session, patient_fid: str, *, who: str, reason: str) -> int:
    users = session.scalars(select(User).join(PatientLink, PatientLink.user_id == User.id)
                            .where(PatientLink.patient_fid == patient_fid)).all()
    for user in users:
        notifications.notify(
            session, user=user, level="warning",
            title="Accès d'urgence à votre dossier",
            body=f"{who} a consulté votre dossier en urgence (bris de glace). Motif : {reason}",
            link="/")
    return len(users)
