"""What one browser session holds in the space (``SessionState``): whose space it shows
(a guardian switches to a minor's, a former guardian to the one an adult shares) and
whether it passed an e-mailed code (``mailcode``). Kept per browser session, not per
account: another browser starts from the holder's own space and asks for the code again."""

from __future__ import annotations

from sqlalchemy.orm import Session

from esante.core.accounts.models import WebSession
from esante.space.models import SessionState


def state(session: Session, ws: WebSession, user_id: int) -> SessionState:
    """This browser session's state in the space (created on first use)."""
    row = session.get(SessionState, ws.id)
    if row is None or row.user_id != user_id:
        if row is not None:  # a session now signed in as someone else: start afresh
            session.delete(row)
            session.flush()
        row = SessionState(web_session_id=ws.id, user_id=user_id, acting_for="")
        session.add(row)
        session.flush()
    return row


def acting_for(session: Session, ws: WebSession | None, user_id: int) -> str:
    """The Patient id of the space this browser session shows for someone else, or ""."""
    return state(session, ws, user_id).acting_for if ws is not None else ""


def act_for(session: Session, ws: WebSession, user_id: int, patient_fid: str = "") -> None:
    """Shows that Patient's space from now on in this browser session ("" : one's own)."""
    state(session, ws, user_id).acting_for = patient_fid


def mail_passed(session: Session, ws: WebSession | None, user_id: int) -> bool:
    """Whether this browser session passed an e-mailed code."""
    if ws is None:
        return False
    row = session.get(SessionState, ws.id)
    return row is not None and row.user_id == user_id and row.mail_verified_at is not None
