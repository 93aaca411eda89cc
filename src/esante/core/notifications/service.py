"""Notify users in the app and, when an SMTP relay is configured, by e-mail."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from esante.core.accounts.models import RoleAssignment, User
from esante.core.db import utcnow
from esante.core.errors import NotFound
from esante.core.notifications.models import Notification, OutboundMail
from esante.core.settings import Settings, get_settings

MAX_ATTEMPTS = 8


def notify(
    session: Session, *, user: User, title: str, body: str = "", link: str = "",
    level: str = "info", email: bool = True, settings: Settings | None = None,
) -> Notification:
    settings = settings or get_settings()
    note = Notification(user_id=user.id, title=title[:200], body=body, link=link[:300],
                        level=level)
    session.add(note)
    if email and settings.smtp_host:
        session.add(OutboundMail(to_addr=user.email, subject=f"[esante] {title}"[:200],
                                 body=f"{body}\n\n{settings.base_url}{link}".strip()))
    session.flush()
    return note


def notify_role(
    session: Session, *, role: str, scope_kind: str | None = None, scope_ref: str | None = None,
    title: str, body: str = "", link: str = "", level: str = "info",
) -> int:
    stmt = select(User).join(RoleAssignment).where(RoleAssignment.role == role,
                                                   User.is_active.is_(True))
    if scope_kind:
        stmt = stmt.where(RoleAssignment.scope_kind == scope_kind)
    if scope_ref is not None:
        stmt = stmt.where(RoleAssignment.scope_ref == scope_ref)
    users = list(session.scalars(stmt.distinct()))
    for user in users:
        notify(session, user=user, title=title, body=body, link=link, level=level)
    return len(users)


def send_external(session: Session, *, to_setting: str, subject: str, body: str,
                  settings: Settings | None = None) -> int:
    """Queue a mail to an outside party whose address is a setting
    (``escalation_<to_setting>_email``). Returns 1 when queued, 0 when not configured."""
    settings = settings or get_settings()
    address = str(getattr(settings, f"escalation_{to_setting}_email", "") or "")
    if not address or not settings.smtp_host:
        return 0
    session.add(OutboundMail(to_addr=address, subject=f"[esante] {subject}"[:200], body=body))
    session.flush()
    return 1


def list_for(session: Session, *, user: User, unread_only: bool = False,
             limit: int = 50) -> list[Notification]:
    stmt = select(Notification).where(Notification.user_id == user.id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return list(session.scalars(stmt.order_by(Notification.id.desc()).limit(limit)))


def unread_count(session: Session, *, user: User) -> int:
    return session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))) or 0


def mark_read(session: Session, *, user: User, notification_id: int) -> Notification:
    note = session.get(Notification, notification_id)
    if note is None or note.user_id != user.id:
        raise NotFound("notification introuvable", "notification not found")
    note.read_at = note.read_at or utcnow()
    return note


def mark_all_read(session: Session, *, user: User) -> None:
    session.execute(update(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)).values(read_at=utcnow()))


# --- outbound mail -------------------------------------------------------------------------

@dataclass
class SmtpRelay:
    """The configured SMTP relay, reached with STARTTLS (certificate checked)."""

    settings: Settings

    def send(self, mail: OutboundMail) -> None:
        s = self.settings
        msg = EmailMessage()
        msg["From"] = s.mail_from
        msg["To"] = mail.to_addr
        msg["Subject"] = mail.subject
        msg["Message-ID"] = f"<outbox-{mail.id}@{s.mail_from.split('@')[-1]}>"
        msg.set_content(mail.body)
        with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout) as smtp:
            if s.smtp_starttls:
                ctx = ssl.create_default_context(
                    cafile=str(s.smtp_cafile) if s.smtp_cafile else None)
                smtp.starttls(context=ctx)
            if s.smtp_username:
                smtp.login(s.smtp_username, s.smtp_password)
            smtp.send_message(msg)


def deliver_pending(session: Session, *, settings: Settings | None = None,
                    relay: SmtpRelay | None = None, limit: int = 100) -> int:
    """Send due mails; failures are retried with exponential backoff. Returns sent count.

    The message id is stable per outbox row, so a crash between sending and recording
    can at worst repeat a mail, never lose one."""
    settings = settings or get_settings()
    if not settings.smtp_host:
        return 0
    relay = relay or SmtpRelay(settings)
    now = utcnow()
    due = session.scalars(select(OutboundMail).where(
        OutboundMail.sent_at.is_(None), OutboundMail.failed_at.is_(None),
        OutboundMail.next_attempt_at <= now).order_by(OutboundMail.id).limit(limit)).all()
    sent = 0
    for mail in due:
        mail.attempts += 1
        try:
            relay.send(mail)
        except (OSError, smtplib.SMTPException) as exc:
            mail.last_error = f"{type(exc).__name__}: {exc}"[:300]
            if mail.attempts >= MAX_ATTEMPTS:
                mail.failed_at = now
            else:
                mail.next_attempt_at = now + timedelta(minutes=2 ** mail.attempts)
        else:
            mail.sent_at = utcnow()
            sent += 1
        session.flush()
    return sent
