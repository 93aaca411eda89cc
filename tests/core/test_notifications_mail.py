"""Notifications reach users in the app and, through a real SMTP server with STARTTLS
and authentication (aiosmtpd), by e-mail; failures are retried, never lost."""

from __future__ import annotations

import socket
import ssl
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from sqlalchemy import select

from esante.core.notifications import service
from esante.core.notifications.models import OutboundMail
from esante.core.settings import get_settings
from tests.tls import make_server_cert


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(tmp_path):
    cert, key = make_server_cert(tmp_path)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    inbox = Inbox()

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == b"relay" and auth_data.password == b"s3cret-relay-pass"
        return AuthResult(success=ok, handled=False)  # False: aiosmtpd answers 535

    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=ctx,
                            require_starttls=True, authenticator=authenticate,
                            auth_require_tls=True, server_hostname="localhost")
    controller.start()
    settings = get_settings().model_copy(update={
        "smtp_host": "localhost", "smtp_port": port, "smtp_username": "relay",
        "smtp_password": "s3cret-relay-pass", "smtp_cafile": cert,
        "mail_from": "alertes@esante.localhost"})
    try:
        yield inbox, settings
    finally:
        controller.stop()


def test_notification_is_mailed_over_starttls(db, personas, smtp):
    inbox, settings = smtp
    user = personas.users["rssi_a"]
    service.notify(db, user=user, title="Alerte de vulnérabilité",
                   body="Un correctif est disponible.", link="/notifications",
                   settings=settings)
    assert service.unread_count(db, user=user) == 1

    sent = service.deliver_pending(db, settings=settings)

    assert sent == 1
    assert len(inbox.messages) == 1
    _, rcpts, raw = inbox.messages[0]
    assert rcpts == ["rssi_a@test.esante.fr"]
    msg = message_from_bytes(raw, policy=policy.default)
    assert msg["Subject"] == "[esante] Alerte de vulnérabilité"
    assert "Un correctif est disponible." in msg.get_content()
    row = db.scalar(select(OutboundMail))
    assert row is not None and row.sent_at is not None
    # Nothing left to send: a second sweep sends nothing more.
    assert service.deliver_pending(db, settings=settings) == 0
    assert len(inbox.messages) == 1


def test_wrong_relay_password_is_retried_later(db, personas, smtp):
    inbox, settings = smtp
    bad = settings.model_copy(update={"smtp_password": "wrong-password-here"})
    service.notify(db, user=personas.users["analyst"], title="Test", settings=bad)

    assert service.deliver_pending(db, settings=bad) == 0

    row = db.scalar(select(OutboundMail))
    assert row is not None
    assert row.sent_at is None and row.attempts == 1
    assert "SMTPAuthenticationError" in row.last_error
    assert row.next_attempt_at > row.created_at
    assert inbox.messages == []


def test_untrusted_certificate_is_refused(db, personas, smtp, tmp_path):
    inbox, settings = smtp
    other_ca, _ = make_server_cert(tmp_path / "..", host="other")  # not the server's
    untrusting = settings.model_copy(update={"smtp_cafile": other_ca})
    service.notify(db, user=personas.users["admin"], title="Test", settings=untrusting)

    assert service.deliver_pending(db, settings=untrusting) == 0
    row = db.scalar(select(OutboundMail))
    assert row is not None and "SSL" in row.last_error
    assert inbox.messages == []


def test_no_relay_configured_keeps_notifications_in_app_only(db, personas):
    settings = get_settings().model_copy(update={"smtp_host": ""})
    service.notify(db, user=personas.users["citizen"], title="Bienvenue", settings=settings)
    assert db.scalar(select(OutboundMail)) is None
    assert service.unread_count(db, user=personas.users["citizen"]) == 1


def test_notify_role_reaches_only_the_scope(db, personas):
    n = service.notify_role(db, role="security_officer", scope_kind="establishment",
                            scope_ref=personas.est["A"].finess, title="Pour A")
    assert n == 1
    assert service.unread_count(db, user=personas.users["rssi_a"]) == 1
    assert service.unread_count(db, user=personas.users["rssi_b"]) == 0
