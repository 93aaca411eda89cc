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
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword
from aiosmtpd.smtp import Session as SmtpSession
from sqlalchemy.orm import Session, sessionmaker

from esante.core.accounts import service as accounts
from esante.core.audit import Actor
from esante.core.db import READ_ONLY
from esante.core.errors import DomainError, Forbidden, Invalid, NotFound, Unauthenticated
from esante.messaging import delivery, mailboxes, tls
from esante.messaging.access import holds
from esante.messaging.config import MessagingSettings

log = logging.getLogger("esante.messaging.smtp")


class _MutualTlsIsMeant(logging.Filter):
    """aiosmtpd warns that a context requiring client certificates may trouble clients:
    reception between operators requires them on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("tls_context.verify_mode not in")


logging.getLogger("mail.log").addFilter(_MutualTlsIsMeant())


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


WRITERS = 3  # writers side by side where the database allows it


class Writer:
    """Group commit: one thread writes the messages of every connection. What arrived while
    it committed the previous group is written in one transaction, committed at once: one
    commit (one fsync) for the group instead of one each. Each caller gets its outcome only
    after that commit succeeded. A message refused (or failing) within the group rolls the
    group back: the others are written again without it, and it alone, in the same order;
    if the commit fails, every message of the group is written again alone, so that one bad
    message cannot fail the others. One writer also means SQLite's writers never queue on
    its lock."""

    MAX_GROUP = 64

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    async def write(self, fn: Callable[[Session], Any]) -> Any:
        """``fn(session)`` in the next group; its result once committed, or its exception."""
        job = _Job(fn)
        with self._lock:  # started on first use, again after close()
            if self._thread is None or not self._thread.is_alive():
                self._queue = queue.SimpleQueue()
                self._thread = threading.Thread(target=self._run, args=(self._queue,),
                                                name="smtp-writer", daemon=True)
                self._thread.start()
            self._queue.put(job)
        return await asyncio.wrap_future(job.future)

    def close(self) -> None:
        """Writes what is queued, then stops the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
            if thread is not None:
                self._queue.put(None)
        if thread is not None:
            thread.join(30)

    def _run(self, jobs: queue.SimpleQueue[_Job | None]) -> None:
        stop = False
        while not stop:
            first = jobs.get()
            group = [] if first is None else [first]
            stop = first is None
            while not stop and len(group) < self.MAX_GROUP:
                try:
                    job = jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    stop = True
                else:
                    group.append(job)
            # A caller gone (its connection closed) before its turn: nothing to write.
            group = [j for j in group if j.future.set_running_or_notify_cancel()]
            try:
                self._together(group)
            except BaseException as exc:  # a bug here: no caller waits forever
                log.exception("smtp: writer failed")
                for j in group:
                    if not j.future.done():
                        j.future.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise

    def _alone(self, job: _Job) -> None:
        try:
            with self.factory() as s:
                try:
                    out = job.fn(s)
                    s.commit()
                except BaseException:
                    s.rollback()
                    raise
        except Exception as exc:  # handed to the caller
            job.future.set_exception(exc)
        else:
            job.future.set_result(out)

    def _together(self, group: list[_Job]) -> None:
        if len(group) <= 1:
            for job in group:
                self._alone(job)
            return
        out: list[Any] = []
        failed: int | None = None
        try:
            with self.factory() as s:
                try:
                    for i, job in enumerate(group):
                        try:
                            out.append(job.fn(s))
                        except Exception:
                            failed = i
                            break
                    if failed is None:
                        s.commit()
                    else:
                        s.rollback()
                except BaseException:
                    s.rollback()
                    raise
        except Exception as exc:
            log.warning("smtp: commit of a group of %d messages failed (%s), each written alone",
                        len(group), type(exc).__name__)
            for job in group:
                self._alone(job)
            return
        if failed is not None:
            # No savepoints (two more statements a message): the group is written again
            # without the message that failed, which is written alone, in the same order.
            self._together(group[:failed])
            self._alone(group[failed])
            self._together(group[failed + 1:])
            return
        for job, value in zip(group, out, strict=True):
            job.future.set_result(value)


class Writers:
    """Writers side by side, for a database that takes concurrent writers (PostgreSQL):
    while one waits for the database, another works. The messages of one sender with one
    Message-ID always go to the same writer, one after the other: the second finds the
    first (stored once)."""

    def __init__(self, factory: sessionmaker[Session], count: int) -> None:
        self.lanes = [Writer(factory) for _ in range(max(1, count))]

    async def write(self, fn: Callable[[Session], Any], key: tuple[str, str]) -> Any:
        return await self.lanes[hash(key) % len(self.lanes)].write(fn)

    def close(self) -> None:
        for lane in self.lanes:
            lane.close()


class _Job:
    __slots__ = ("fn", "future")

    def __init__(self, fn: Callable[[Session], Any]) -> None:
        self.fn = fn
        self.future: Future[Any] = Future()


class Recent:
    """The answers MAIL and RCPT gave yes to in the last seconds: a client sending one
    message after another asks the same questions; those answered yes recently are not
    asked of the database again. Only an early answer: the DATA transaction checks the
    sender and every recipient again, so a mailbox closed meanwhile refuses the message
    there (550) rather than at MAIL or RCPT. Used from one event loop's thread."""

    TTL = 5.0
    MAX = 10_000

    def __init__(self) -> None:
        self._seen: dict[tuple[Any, ...], float] = {}

    def fresh(self, key: tuple[Any, ...]) -> bool:
        at = self._seen.get(key)
        return at is not None and time.monotonic() - at < self.TTL

    def remember(self, key: tuple[Any, ...]) -> None:
        if len(self._seen) >= self.MAX:
            self._seen.clear()
        self._seen[key] = time.monotonic()


def _owns(s: Session, user_id: int, address: str) -> bool:
    """Whether the user holds the mailbox of ``address``."""
    box = mailboxes.by_address(s, address)
    return box is not None and holds(s, user_id, box)


class Handler:
    def __init__(self, mode: str, factory: sessionmaker[Session], writer: Writers) -> None:
        self.mode = mode  # submission or relay
        self.factory = factory
        self.writer = writer
        self.recent = Recent()

    async def _read(self, fn: Callable[[Session], Any]) -> Any:
        def run() -> Any:
            with self.factory() as s:
                s.connection(execution_options={READ_ONLY: True})
                try:
                    return fn(s)
                finally:
                    s.rollback()
        return await asyncio.to_thread(run)

    def _peer_names(self, session: SmtpSession) -> set[str]:
        sslobj = (session.ssl or {}).get("ssl_object")
        cert = sslobj.getpeercert() if sslobj is not None else None
        return {v.lower() for k, v in (cert or {}).get("subjectAltName", ()) if k == "DNS"}

    async def handle_MAIL(self, server: SMTP, session: SmtpSession, envelope: Envelope,  # noqa: ARG002, N802 - aiosmtpd's hook
                          address: str, mail_options: list[str]) -> str:
        address = address.strip().lower()
        if self.mode == "submission":
            user_id: Any = session.auth_data
            key: tuple[Any, ...] = ("own", user_id, address)
            if not isinstance(user_id, int) or not (
                    self.recent.fresh(key)
                    or await self._read(lambda s: _owns(s, user_id, address))):
                return "553 5.7.1 sender address is not one of your mailboxes"
        else:
            domain = mailboxes.domain_of(address).removeprefix("patient.")
            if domain not in self._peer_names(session):
                return "550 5.7.1 sender domain does not match the client certificate"
            key = ("trusted", domain)
            if mailboxes.is_local(address) or not (
                    self.recent.fresh(key)
                    or await self._read(lambda s: mailboxes.is_trusted(s, domain))):
                return "550 5.7.1 sender domain outside the trust space"
        self.recent.remember(key)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server: SMTP, session: SmtpSession, envelope: Envelope,  # noqa: ARG002, N802 - aiosmtpd's hook
                          address: str, rcpt_options: list[str]) -> str:  # noqa: ARG002
        key = ("rcpt", address.strip().lower())
        if not self.recent.fresh(key):
            try:
                await self._read(lambda s: delivery.check_recipient(s, address, via=self.mode))
            except DomainError as exc:
                return smtp_reply(exc)
            self.recent.remember(key)
        envelope.rcpt_tos.append(address.strip().lower())
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: SmtpSession,  # noqa: ARG002, N802
                          envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        peer = str(session.peer[0]) if session.peer else ""
        user_id = session.auth_data if isinstance(session.auth_data, int) else None
        mail_from = envelope.mail_from or ""
        try:  # size and MIME first, outside the writer (the others' commit meanwhile)
            parsed = await asyncio.to_thread(delivery.read, raw)
        except DomainError as exc:
            return smtp_reply(exc)

        def store(s: Session) -> str:
            # One query for the sender's and the recipients' mailboxes. MAIL's answer may
            # come from Recent: the sender is checked again here (RCPT's in accept).
            found = mailboxes.by_addresses(s, [mail_from, *envelope.rcpt_tos])
            box = None
            if self.mode == "submission":
                box = found.get(mail_from)
                if box is None or user_id is None or not holds(s, user_id, box):
                    raise Forbidden("l'adresse d'expédition n'est pas l'une de vos boîtes",
                                    "sender address is not one of your mailboxes",
                                    code="not-holder")
            elif not mailboxes.is_trusted(s, mailboxes.domain_of(mail_from)
                                          .removeprefix("patient.")):
                raise Forbidden("domaine expéditeur hors de l'espace de confiance",
                                "sender domain outside the trust space",
                                code="untrusted-domain")
            actor = Actor(user_id=user_id, label=f"smtp-{self.mode}", ip=peer)
            msg = delivery.accept(s, raw=raw, envelope=delivery.Envelope(
                mail_from, list(envelope.rcpt_tos), self.mode),
                sender_box=box, actor=actor, parsed=parsed, found=found)
            return msg.message_id
        try:
            message_id = await self.writer.write(store, (parsed.sender, parsed.message_id))
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


def controllers(cfg: MessagingSettings, factory: sessionmaker[Session], *,
                shared: bool = False) -> list[Controller]:
    """The submission and relay servers; ``shared``: their ports shared with the gateway's
    other processes (``SO_REUSEPORT``)."""
    folder = cfg.resolved_tls_dir
    common: dict[str, Any] = {"hostname": cfg.host, "data_size_limit": cfg.max_message_bytes,
                              "require_starttls": True, "ident": f"esante MSS {cfg.domain}",
                              "timeout": cfg.smtp_timeout, "reuse_port": shared}
    # One writer for both ports; on SQLite only one (it takes one writer at a time).
    writer = Writers(factory, 1 if _sqlite(factory) else WRITERS)
    submission = _Controller(Handler("submission", factory, writer), writer,
                             port=cfg.submission_port,
                             contexts=tls.ServerContexts(folder, mutual=False),
                             auth_required=True, auth_require_tls=True,
                             authenticator=authenticator(factory), **common)
    relay = _Controller(Handler("relay", factory, writer), writer, port=cfg.relay_port,
                        contexts=tls.ServerContexts(folder, mutual=True), **common)
    return [submission, relay]


class _Controller(Controller):
    """Each connection gets the port's current TLS context (a new revocation list applies
    without a restart). Stopping a port also writes what its writer has queued and stops
    its thread (started again if the other port still receives)."""

    def __init__(self, handler: Handler, writer: Writers, *, contexts: tls.ServerContexts,
                 reuse_port: bool = False, **kwargs: Any) -> None:
        super().__init__(handler, tls_context=contexts.current(), **kwargs)
        self.writer = writer
        self.contexts = contexts
        self.reuse_port = reuse_port

    def factory(self) -> SMTP:
        self.SMTP_kwargs["tls_context"] = self.contexts.current()
        return super().factory()

    def _create_server(self) -> Any:
        return self.loop.create_server(self._factory_invoker, host=self.hostname,
                                       port=self.port, ssl=self.ssl_context,
                                       reuse_port=self.reuse_port or None)

    def _trigger_server(self) -> None:
        """aiosmtpd connects once to check that its SMTP object can be built; with a shared
        port that connection may reach another process and this one would never be ready:
        the object is then built on this server's own loop instead."""
        if not self.reuse_port:
            super()._trigger_server()
            return
        self.loop.call_soon_threadsafe(self._factory_invoker)

    def stop(self, *args: Any, **kwargs: Any) -> None:
        super().stop(*args, **kwargs)
        self.writer.close()
