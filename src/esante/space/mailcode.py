"""The e-mailed one-time code: the citizen's other second factor for her space, beside
TOTP (national identification frame: something she knows, her password, and something
she has, her mailbox).

A 6-digit code, sent at once through the platform's SMTP relay (``core.notifications``):
never through the outbox table, which would keep it in clear. Only its keyed hash is
stored; it is valid ``CODE_MINUTES``, for ``MAX_ATTEMPTS`` tries, and once. Sending is
limited too (one code a minute, ``MAX_SENDS`` an hour). Every send, success and failure
is audited (never the code). A code that passes marks the browser session
(``SessionState.mail_verified_at``): the space's pages open for that session only."""

from __future__ import annotations

import hmac
import secrets
import smtplib
from datetime import timedelta

from sqlalchemy.orm import Session

from esante.core import audit
from esante.core.accounts.models import WebSession
from esante.core.db import utcnow
from esante.core.errors import Conflict, Invalid, TooManyRequests
from esante.core.notifications.models import OutboundMail
from esante.core.notifications.service import SmtpRelay
from esante.core.policy import Principal
from esante.core.settings import Settings, get_settings
from esante.space import browsing
from esante.space.models import MailFactor
from esante.space.service import _key

CODE_MINUTES = 10
MAX_ATTEMPTS = 5
RESEND_SECONDS = 60
MAX_SENDS = 5  # an hour


def _hash(user_id: int, code: str) -> str:
    return hmac.digest(_key(), f"mail-otp:{user_id}:{code}".encode(), "sha256").hex()


def _row(session: Session, user_id: int) -> MailFactor:
    row = session.get(MailFactor, user_id)
    if row is None:
        row = MailFactor(user_id=user_id, chosen=False, code_hash="", attempts=0, sends=0)
        session.add(row)
    return row


def passed(session: Session, ws: WebSession | None, user_id: int) -> bool:
    """Whether this browser session passed an e-mailed code."""
    return browsing.mail_passed(session, ws, user_id)


def send(session: Session, p: Principal, *, settings: Settings | None = None) -> None:
    """Sends a fresh code to the account's address (the former one stops working)."""
    settings = settings or get_settings()
    if not settings.smtp_host:
        raise Conflict("l'envoi de courriels n'est pas configuré sur cette plateforme : "
                       "utilisez une application d'authentification (TOTP)",
                       "no SMTP relay configured", code="mail-unavailable")
    row = _row(session, p.user.id)
    now = utcnow()
    if row.sent_at is not None and now - row.sent_at < timedelta(seconds=RESEND_SECONDS):
        raise TooManyRequests("un code vient de partir : attendez une minute avant d'en "
                              "demander un autre", "a code was just sent", code="mail-wait")
    if row.window_start is None or now - row.window_start > timedelta(hours=1):
        row.window_start, row.sends = now, 0
    if row.sends >= MAX_SENDS:
        raise TooManyRequests("trop de codes demandés : réessayez dans une heure",
                              "too many codes requested", code="mail-too-many")
    code = f"{secrets.randbelow(1_000_000):06d}"
    mail = OutboundMail(  # never added to the session: the code is not kept in clear
        to_addr=p.user.email, subject="[esante] Votre code de connexion à l'espace santé",
        body=f"Votre code de connexion à votre espace santé : {code}\n\n"
             f"Il est valable {CODE_MINUTES} minutes, pour une seule connexion. Si vous n'avez "
             "pas demandé ce code, ne le communiquez à personne et changez votre mot de passe.")
    mail.id = secrets.randbelow(2**31)  # the relay names the message by it
    try:
        SmtpRelay(settings).send(mail)
    except (OSError, smtplib.SMTPException) as exc:
        audit.record(session, actor=p.actor, action="space.mail-code-sent", object_type="user",
                     object_id=p.user.id, subject_user_id=p.user.id, outcome="failure",
                     details={"error": type(exc).__name__})
        raise Conflict("le courriel n'a pas pu partir : réessayez dans un instant, ou utilisez "
                       "une application d'authentification (TOTP)", "mail not sent",
                       code="mail-failed") from None
    row.code_hash, row.expires_at, row.attempts = _hash(p.user.id, code), \
        now + timedelta(minutes=CODE_MINUTES), 0
    row.sent_at, row.sends = now, row.sends + 1
    audit.record(session, actor=p.actor, action="space.mail-code-sent", object_type="user",
                 object_id=p.user.id, subject_user_id=p.user.id)
    session.flush()


def verify(session: Session, p: Principal, ws: WebSession, code: str) -> None:
    """Checks the code; a good one is spent and opens the space for this browser session.
    A wrong one counts (the caller commits it: ``request.state.commit_anyway``)."""
    row = session.get(MailFactor, p.user.id)
    code = "".join(code.split())
    if row is None or not row.code_hash:
        raise Invalid("aucun code en cours : demandez un code", "no code pending",
                      code="mail-none")
    if row.attempts >= MAX_ATTEMPTS:
        raise TooManyRequests("trop d'essais : ce code est bloqué, demandez un nouveau code",
                              "too many attempts", code="mail-locked")
    if row.expires_at is None or row.expires_at < utcnow():
        row.code_hash = ""
        raise Invalid("code expiré : demandez un nouveau code", "code expired",
                      code="mail-expired")
    if not (len(code) == 6 and code.isdigit()
            and hmac.compare_digest(row.code_hash, _hash(p.user.id, code))):
        row.attempts += 1
        left = MAX_ATTEMPTS - row.attempts
        audit.record(session, actor=p.actor, action="space.mail-code-failed", object_type="user",
                     object_id=p.user.id, subject_user_id=p.user.id, outcome="failure")
        session.flush()
        raise Invalid(f"code incorrect (encore {left} essai(s))" if left else
                      "code incorrect : ce code est bloqué, demandez un nouveau code",
                      "wrong code", code="mail-code")
    row.code_hash, row.expires_at, row.chosen = "", None, True  # single use
    browsing.state(session, ws, p.user.id).mail_verified_at = utcnow()
    audit.record(session, actor=p.actor, action="space.mail-code-ok", object_type="user",
                 object_id=p.user.id, subject_user_id=p.user.id)
    session.flush()


def chosen(session: Session, user_id: int) -> bool:
    row = session.get(MailFactor, user_id)
    return bool(row and row.chosen)
