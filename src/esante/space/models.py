"""The space of a citizen: one per FHIR Patient carrying a qualified INS. Its content
lives in the FHIR store (documents, profile, Consents); this table only holds its
lifecycle and the activation code's hash."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from esante.core.db import Base, utcnow


class Space(Base):
    __tablename__ = "space_spaces"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_fid: Mapped[str] = mapped_column(String(64), unique=True)
    # keyed hash of the INS matricule: the activation letter names the person by it
    ins_hash: Mapped[str] = mapped_column(String(64), index=True)
    # pending (objection period) -> open (created, not activated) -> active -> closed;
    # objected while the holder objects (reversible)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    objection_until: Mapped[datetime]
    holder_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    code_hash: Mapped[str] = mapped_column(String(64), default="")
    code_expires_at: Mapped[datetime | None]
    code_failures: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    objected_at: Mapped[datetime | None]
    activated_at: Mapped[datetime | None]
    exported_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    purge_after: Mapped[datetime | None] = mapped_column(index=True)


class Reminder(Base):
    """An appointment reminder sent to the holder (so that it is sent once)."""

    __tablename__ = "space_reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_fid: Mapped[str] = mapped_column(String(64), unique=True)
    patient_fid: Mapped[str] = mapped_column(String(64), index=True)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)


class Guardianship(Base):
    """A parent or legal guardian who manages a minor's space, recorded by an agent with
    its proof; ended on removal or when the minor turns 18 (the hand-over)."""

    __tablename__ = "space_guardians"

    id: Mapped[int] = mapped_column(primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("space_spaces.id", ondelete="CASCADE"),
                                          index=True)
    patient_fid: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    proof: Mapped[str] = mapped_column(String(200))  # e.g. "livret de famille", "jugement"
    since: Mapped[date]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str] = mapped_column(String(20), default="")  # removed, majority


class MailFactor(Base):
    """The e-mailed one-time code, the citizen's other second factor (beside TOTP): the
    latest code's keyed hash (never the code), its expiry, attempts; single use."""

    __tablename__ = "space_mail_factors"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    chosen: Mapped[bool] = mapped_column(default=False)  # the citizen picked the e-mail code
    code_hash: Mapped[str] = mapped_column(String(64), default="")
    expires_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    sent_at: Mapped[datetime | None]
    sends: Mapped[int] = mapped_column(default=0)  # codes sent in the current window
    window_start: Mapped[datetime | None]


class SessionState(Base):
    """What a browser session of the space knows: whether it passed the e-mailed code,
    and whose space it shows (the holder's own, or a minor's for a guardian)."""

    __tablename__ = "space_session_states"

    web_session_id: Mapped[str] = mapped_column(
        ForeignKey("web_sessions.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    mail_verified_at: Mapped[datetime | None]
    acting_for: Mapped[str] = mapped_column(String(64), default="")  # a minor's Patient id
