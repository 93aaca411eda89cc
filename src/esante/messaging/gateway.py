"""The SMTP gateway (aiosmtpd): submission for professionals' mail clients (STARTTLS, then
AUTH with the account's e-mail and an API token as application password: a password alone
would skip the second factor), and reception from other operators of the trust space
(STARTTLS with a client certificate from the trust store, whose name must be the sender's
domain). A message is committed to the database before the 250 reply: a crash after 250
never loses it; a crash before leaves the client to retry, and the same Message-ID is
stored once."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword
from aiosmtpd.smtp import Session as SmtpSession
from sqlalchemy.orm import Session, sessionmaker

from esante.core.accounts import service as accounts
from esante.core.audit import Actor
from esante.core.errors import DomainError, Forbidden, Invalid, NotFound, Unauthenticated
from esante.core.policy import Principal
from esante.messaging import delivery, mailboxes, tls
from esante.messaging.access import is_holder
from esante.messaging.config import MessagingSettings

log = logging.getLogger("esante.messaging.smtp")


def smtp_reply(exc: DomainError) -> str:
    """A domain error as an SMTP reply (RFC 5321 codes, RFC 3463 enhanced codes)."""
    text = exc.en[:200]
    if isinstance(exc, NotFound):
        return f"550 5.1.1 {text}"
    if isinstance(exc, Forbidden):
        return f"550 5.7.1 {text}"
    if exc.code == "too-large":
        return f"552 5.3.4 {text}"
    if exc.code in ("mime-invalid", "mss-header", "xdm-invalid", "cda-invalid"):
        return f"550 5.6.0 {text}"
    if exc.code in ("attachment-mismatch", "attachment-type", "attachment-too-large"):
        return f"554 5.6.1 {text}"
    if isinstance(exc, Invalid):
        return f"501 5.5.4 {text}"
    return f"554 5.0.0 {text}"


def _sqlite(factory: sessionmaker[Session]) -> bool:
    with factory() as s:
        return s.get_bind().dialect.name == "sqlite"


class Handler:
    def __init__(self, mode: str, factory: sessionmaker[Session],
                 writers: threading.Lock | None = None) -> None:
        self.mode = mode  # submission or relay
        self.factory = factory
        # SQLite has one writer at a time, and a writer that finds the database locked
        # sleeps in growing steps (up to 100 ms) before it tries again: the messages'
        # transactions queue here instead and follow each other at once.
        self.writers = writers

    async def _db(self, fn: Callable[[Session], Any], *, write: bool = False) -> Any:
        def run() -> Any:
            with self.factory() as s:
                try:
                    out = fn(s)
                    s.commit()
                    return out
                except BaseException:
                    s.rollback()
                    raise

        def serial() -> Any:
            assert self.writers is not None
            with self.writers:
                return run()
        return await asyncio.to_thread(serial if write and self.writers else run)

    def _peer_names(self, session: SmtpSession) -> set[str]:
        sslobj = (session.ssl or {}).get("ssl_object")
        cert = sslobj.getpeercert() if sslobj is not None else None
        return {v.lower() for k, v in (cert or {}).get("subjectAltName", ()) if k == "DNS"}

    async def handle_MAIL(self, server: SMTP, session: SmtpSession, envelope: Envelope,  # noqa: ARG002, N802 - aiosmtpd's hook
                          address: str, mail_options: list[str]) -> str:
        address = address.strip().lower()
        if self.mode == "submission":
            user_id: Any = session.auth_data

            def own(s: Session) -> bool:
                box = mailboxes.by_address(s, address)
                user = accounts.get_user(s, int(user_id))
                return box is not None and is_holder(s, Principal.of(user), box)
            if not isinstance(user_id, int) or not await self._db(own):
                return "553 5.7.1 sender address is not one of your mailboxes"
        else:
            domain = mailboxes.domain_of(address).removeprefix("patient.")
            if domain not in self._peer_names(session):
                return "550 5.7.1 sender domain does not match the client certificate"
            if not await self._db(lambda s: mailboxes.is_trusted(s, domain)) \
                    or mailboxes.is_local(address):
                return "550 5.7.1 sender domain outside the trust space"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server: SMTP, session: SmtpSession, envelope: Envelope,  # noqa: ARG002, N802 - aiosmtpd's hook
                          address: str, rcpt_options: list[str]) -> str:  # noqa: ARG002
        try:
            await self._db(lambda s: delivery.check_recipient(s, address, via=self.mode))
        except DomainError as exc:
            return smtp_reply(exc)
        envelope.rcpt_tos.append(address.strip().lower())
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: SmtpSession,  # noqa: ARG002, N802
                          envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        peer = str(session.peer[0]) if session.peer else ""

        def store(s: Session) -> str:
            box = mailboxes.by_address(s, envelope.mail_from or "") \
                if self.mode == "submission" else None
            actor = Actor(user_id=session.auth_data if isinstance(session.auth_data, int)
                          else None, label=f"smtp-{self.mode}", ip=peer)
            msg = delivery.accept(s, raw=raw, envelope=delivery.Envelope(
                envelope.mail_from or "", list(envelope.rcpt_tos), self.mode),
                sender_box=box, actor=actor)
            return msg.message_id
        try:
            message_id = await self._db(store, write=True)
        except DomainError as exc:
            return smtp_reply(exc)
        except Exception:
            log.exception("smtp %s: message not stored", self.mode)
            return "451 4.3.0 temporary failure, try again later"
        return f"250 2.0.0 accepted {message_id[:120]}"


def authenticator(factory: sessionmaker[Session]) -> Callable[..., AuthResult]:
    def check(server: SMTP, session: SmtpSession, envelope: Envelope, mechanism: str,  # noqa: ARG001
              auth_data: Any) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode(errors="replace").strip().lower()
        with factory() as s:
            try:
                user, _token = accounts.authenticate_token(
                    s, auth_data.password.decode(errors="replace"))
            except Unauthenticated:
                return AuthResult(success=False, handled=False)
            ok = user.email.lower() == login
            s.commit()
        return AuthResult(success=ok, handled=False, auth_data=user.id if ok else None)
    return check


def controllers(cfg: MessagingSettings, factory: sessionmaker[Session]) -> list[Controller]:
    folder = cfg.resolved_tls_dir
    common: dict[str, Any] = {"hostname": cfg.host, "data_size_limit": cfg.max_message_bytes,
                              "require_starttls": True, "ident": f"esante MSS {cfg.domain}",
                              "timeout": cfg.smtp_timeout}
    writers = threading.Lock() if _sqlite(factory) else None
    submission = Controller(Handler("submission", factory, writers), port=cfg.submission_port,
                            tls_context=tls.server_context(folder, mutual=False),
                            auth_required=True, auth_require_tls=True,
                            authenticator=authenticator(factory), **common)
    relay = Controller(Handler("relay", factory, writers), port=cfg.relay_port,
                       tls_context=tls.server_context(folder, mutual=True), **common)
    return [submission, relay]
