"""Delivery to other operators from the persistent queue (``msg_outbound``): over TLS with
our client certificate, the peer's server checked against the trust store; a temporary
failure is retried with backoff, a permanent one (or too many tries) bounces: a delivery
status notification (DSN) lands in the sender's mailbox."""

from __future__ import annotations

import smtplib
import ssl
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from esante.core.audit import Actor
from esante.core.db import utcnow
from esante.core.errors import DomainError
from esante.messaging import delivery, mailboxes, reading, reports, tls
from esante.messaging.config import MessagingSettings, get_mss_settings
from esante.messaging.models import Message, OutboundItem, Receipt


class Permanent(Exception):
    pass


def _send(cfg: MessagingSettings, item: OutboundItem, sender: str, raw: bytes) -> None:
    host, port = cfg.route_for(item.domain)
    context = tls.client_context(cfg.resolved_tls_dir)
    try:
        with smtplib.SMTP(host, port, timeout=30, local_hostname=cfg.domain) as smtp:
            smtp.starttls(context=context)
            smtp.ehlo()
            smtp.sendmail(sender, [item.recipient], raw)
    except smtplib.SMTPRecipientsRefused as exc:
        code, text = next(iter(exc.recipients.values()))
        if code >= 500:
            raise Permanent(f"{code} {text!r}") from exc
        raise
    except smtplib.SMTPResponseException as exc:
        if exc.smtp_code >= 500:
            raise Permanent(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
        raise
    except ssl.SSLCertVerificationError as exc:
        raise Permanent(f"certificat du serveur refusé : {exc.verify_message}") from exc


def run_once(session: Session, *, cfg: MessagingSettings | None = None, limit: int = 50) -> dict[str, int]:
    """Try every due item once. The caller commits."""
    cfg = cfg or get_mss_settings()
    done = {"sent": 0, "retry": 0, "bounced": 0}
    due = session.scalars(select(OutboundItem).where(
        OutboundItem.state == "queued", OutboundItem.next_attempt_at <= utcnow())
        .order_by(OutboundItem.id).limit(limit)).all()
    for item in due:
        message = session.get_one(Message, item.message_pk)
        item.attempts += 1
        try:
            _send(cfg, item, message.sender, reading.raw_of(session, message))
        except Permanent as exc:
            _bounce(session, cfg, item, message, str(exc))
            done["bounced"] += 1
        except (OSError, smtplib.SMTPException, DomainError) as exc:
            item.last_error = str(exc)[:300]
            if item.attempts >= cfg.max_attempts:
                _bounce(session, cfg, item, message, f"trop de tentatives : {item.last_error}")
                done["bounced"] += 1
            else:
                item.next_attempt_at = utcnow() + timedelta(minutes=cfg.backoff(item.attempts))
                done["retry"] += 1
        else:
            item.state = "sent"
            session.add(Receipt(message_pk=message.id, recipient=item.recipient, kind="relayed"))
            done["sent"] += 1
        session.flush()
    return done


def _bounce(session: Session, cfg: MessagingSettings, item: OutboundItem, message: Message,
            reason: str) -> None:
    item.state, item.last_error = "bounced", reason[:300]
    session.add(Receipt(message_pk=message.id, recipient=item.recipient, kind="failed",
                        detail=reason[:300]))
    if not mailboxes.is_local(message.sender) or message.report_kind:
        return  # never a report about a report
    raw = reports.dsn(postmaster=f"postmaster@{cfg.domain}", to=message.sender,
                      recipient=item.recipient, original_id=message.message_id,
                      status="5.0.0", diagnostic=reason, domain=cfg.domain)
    delivery.accept(session, raw=raw, envelope=delivery.Envelope(
        f"postmaster@{cfg.domain}", [message.sender], "system"), sender_box=None,
        actor=Actor.system("messagerie"))
