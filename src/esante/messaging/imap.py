"""IMAP for professionals' mail clients, served by Debian's Dovecot and fed by the platform.

- **Configuration**: written by the platform into its data dir (``ESANTE_MSS_IMAP_DIR``,
  default ``<data dir>/mss-imap``); nothing in ``/etc``. Dovecot runs **unprivileged**: as
  the account that starts it, or, started by root, as ``ESANTE_MSS_IMAP_USER`` (never
  root). IMAP with STARTTLS on ``ESANTE_MSS_IMAP_PORT`` and IMAPS on
  ``ESANTE_MSS_IMAPS_PORT``, the certificates of ``esante messaging ca``; no login before
  TLS.
- **Feeding**: every copy of a message in a professional mailbox (``Delivery.imap_pending``)
  is handed to Dovecot over LMTP (a Unix socket only Dovecot's account and root can open),
  into ``INBOX`` or ``Sent``, then marked as fed. LMTP rather than writing Maildir files:
  Dovecot encrypts on save, keeps its indexes and UIDs consistent, and a crash between
  LMTP's answer and the mark hands a message over again at worst (never loses it).
- **Encryption at rest**: Dovecot's ``mail_crypt`` plugin with a per-installation EC key
  pair (global keys; AES-256-GCM per message). The private key is stored encrypted by a
  password derived from the platform's master key (``Vault.derived_key``) and given to
  Dovecot through its environment, never written: a copy of the data dir alone reads
  nothing.
- **Authentication**: Dovecot's ``checkpassword`` driver runs ``imapcheck`` (no secret, no
  database), which asks this process over a Unix socket; the answer is the SMTP
  submission's check: an API token as application password (a password alone would skip the
  second factor), of a holder of the mailbox named by the login (the mailbox address, or the
  account's e-mail for its personal mailbox). Every login, granted or refused, is audited;
  a granted one is kept with Dovecot's session id, so that what the client then does is
  audited in the account's name.
- **Back to the platform** (``imapsync``): messages opened, read, moved, deleted by mail
  clients, from Dovecot's event log.
"""

from __future__ import annotations

import grp
import logging
import os
import pwd
import signal
import smtplib
import socket
import socketserver
import subprocess
import sys
import threading
import time
from base64 import urlsafe_b64encode
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from esante.core import audit
from esante.core.accounts import service as accounts
from esante.core.audit import Actor
from esante.core.children import die_with_parent
from esante.core.crypto import Vault
from esante.core.db import utcnow
from esante.core.errors import DomainError, Invalid, Unauthenticated
from esante.core.policy import Principal
from esante.messaging import imapsync, mailboxes, tls
from esante.messaging.access import is_holder
from esante.messaging.config import MessagingSettings
from esante.messaging.models import Delivery, ImapSession, Mailbox, Message

log = logging.getLogger("esante.messaging.imap")

KEY_ENV = "ESANTE_MSS_IMAP_KEY"
KEY_NAME = "mss-imap-mail-crypt"
FOLDERS = {"inbox": "", "sent": "Sent"}


@dataclass(frozen=True)
class Layout:
    root: Path

    @property
    def conf(self) -> Path:
        return self.root / "dovecot.conf"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def lmtp(self) -> Path:
        return self.run / "lmtp"

    @property
    def mail(self) -> Path:
        return self.root / "mail"

    @property
    def auth_socket(self) -> Path:
        return self.root / "auth.sock"

    @property
    def helper(self) -> Path:
        return self.root / "checkpassword"

    @property
    def log(self) -> Path:
        return self.root / "dovecot.log"


@dataclass(frozen=True)
class Account:
    uid: int
    gid: int
    name: str
    group: str

    @property
    def switch(self) -> bool:
        return os.geteuid() != self.uid


def account(cfg: MessagingSettings) -> Account:
    """The unprivileged account Dovecot runs as."""
    if os.geteuid() != 0:
        uid, gid = os.getuid(), os.getgid()
    else:
        try:
            pw = pwd.getpwnam(cfg.imap_user)
        except KeyError:
            raise Invalid(f"compte système {cfg.imap_user!r} introuvable (ESANTE_MSS_IMAP_USER)",
                          "IMAP account missing", code="imap-user") from None
        uid, gid = pw.pw_uid, pw.pw_gid
    if uid == 0:
        raise Invalid("Dovecot ne tourne jamais en root : choisir ESANTE_MSS_IMAP_USER",
                      "Dovecot never runs as root", code="imap-user")
    return Account(uid, gid, pwd.getpwuid(uid).pw_name, grp.getgrgid(gid).gr_name)


def render(cfg: MessagingSettings, layout: Layout, acct: Account) -> str:
    """Dovecot's whole configuration (no secret in it: the key's password comes from the
    environment)."""
    r = layout.root
    return f"""# Written by `esante messaging imap`: edits are overwritten at each start.
base_dir = {layout.run}
state_dir = {r / "state"}
log_path = {layout.log}
# Info lines (logins, the mail_log plugin, exported events) go to the event log the
# platform brings back and deletes every few seconds (``imapsync``).
info_log_path = {layout.root / imapsync.LOG_NAME}
log_timestamp = "%Y-%m-%dT%H:%M:%S "
protocols = imap lmtp
listen = {cfg.host}
hostname = {cfg.domain}
postmaster_address = postmaster@{cfg.domain}
import_environment = TZ {KEY_ENV}

# Unprivileged: one system account for every process, no chroot, high ports in tests.
default_login_user = {acct.name}
default_internal_user = {acct.name}
default_internal_group = {acct.group}
first_valid_uid = {acct.uid}
last_valid_uid = {acct.uid}
first_valid_gid = {acct.gid}
last_valid_gid = {acct.gid}

ssl = required
ssl_min_protocol = TLSv1.2
ssl_cert = <{r / "tls" / "server.crt"}
ssl_key = <{r / "tls" / "server.key"}
{_mutual(cfg, r)}disable_plaintext_auth = yes
auth_mechanisms = plain login

# Logins without the login name (they are in the audit trail). Mail lines name the mailbox
# (the event log needs it); the event log alone holds Message-IDs, for seconds.
login_log_format_elements = method=%m %c session=<%{{session}}>
mail_log_prefix = "%s(%u)<%{{pid}}><%{{session}}>: "
deliver_log_format = %$

passdb {{
  driver = checkpassword
  args = {layout.helper}
}}
userdb {{
  driver = static
  args = uid={acct.uid} gid={acct.gid} home={layout.mail}/%u allow_all_users=yes
}}

mail_location = maildir:~/Maildir
# Dovecot's cache would keep headers (a subject, a sender) in clear beside the encrypted
# messages: nothing is cached.
mail_never_cache_fields = *
mail_plugins = $mail_plugins mail_crypt notify mail_log

# What clients do, for the platform: saves, copies, flags, expunges (mail_log) and each
# message opened (the mail_opened event), in the info log.
event_exporter platform {{
  format = json
  format_args = time-rfc3339
  transport = log
}}
metric mail_opened {{
  exporter = platform
  exporter_include = name timestamps fields
  filter = event=mail_opened
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    auto = subscribe
    special_use = \\Sent
  }}
  mailbox Drafts {{
    auto = subscribe
    special_use = \\Drafts
  }}
  mailbox Trash {{
    auto = subscribe
    special_use = \\Trash
  }}
}}
plugin {{
  mail_crypt_save_version = 2
  mail_crypt_global_public_key = <{r / "crypt" / "public.pem"}
  mail_crypt_global_private_key = <{r / "crypt" / "private.pem"}
  mail_crypt_global_private_key_password = %{{env:{KEY_ENV}}}
  mail_log_events = save copy expunge flag_change mailbox_delete mailbox_rename
  mail_log_fields = uid box msgid flags
}}

# Fed by the platform only: LMTP on a Unix socket, "+Sent" files into Sent.
lmtp_save_to_detail_mailbox = yes
recipient_delimiter = +
lmtp_add_received_header = no

service imap-login {{
  chroot =
  inet_listener imap {{
    address = {cfg.host}
    port = {cfg.imap_port}
  }}
  inet_listener imaps {{
    address = {cfg.host}
    port = {cfg.imaps_port}
    ssl = yes
  }}
}}
service lmtp {{
  unix_listener lmtp {{
    mode = 0600
  }}
}}
service anvil {{
  chroot =
}}
"""


def _reachable(path: Path, acct: Account) -> bool:
    """Whether the account can reach and run ``path`` (every parent searchable)."""
    for p in [*reversed(path.parents), path]:
        st = p.stat()
        bits = 0o001 if st.st_uid != acct.uid and st.st_gid != acct.gid else \
            (0o100 if st.st_uid == acct.uid else 0o010)
        if not st.st_mode & bits:
            return False
    return True


def interpreter(acct: Account) -> str:
    """A Python for the checkpassword program (standard library only): this one, or the
    system's when Dovecot's account cannot reach this one (a Python under /root)."""
    mine = Path(sys.executable)
    if not acct.switch or _reachable(mine.resolve(), acct):
        return str(mine)
    system = Path("/usr/bin/python3")
    if system.exists() and _reachable(system.resolve(), acct):
        return str(system)
    raise Invalid(f"aucun Python accessible au compte {acct.name} pour l'authentification IMAP",
                  "no Python reachable by Dovecot's account", code="imap-python")


def _mutual(cfg: MessagingSettings, root: Path) -> str:
    if not cfg.imap_client_cert:
        return "# Mutual TLS off (ESANTE_MSS_IMAP_CLIENT_CERT=false): the token alone.\n"
    crl = (cfg.resolved_tls_dir / tls.CRL).exists()
    return (f"# Mutual TLS: a client certificate of the trust store before any login, checked\n"
            f"# against the revocation lists when there are ({tls.CRL}).\n"
            f"ssl_ca = <{root / 'tls' / 'trust.pem'}\n"
            "ssl_verify_client_cert = yes\nauth_ssl_require_client_cert = yes\n"
            f"ssl_require_crl = {'yes' if crl else 'no'}\n")


def _helper_script(layout: Layout, acct: Account) -> str:
    src = Path(__file__).resolve().parents[2]
    return (f"#!{interpreter(acct)} -I\n"
            "# Dovecot's checkpassword program, written by `esante messaging imap`.\n"
            f"import sys\nsys.path.insert(0, {str(src)!r})\n"
            "from esante.messaging.imapcheck import main\n"
            f"main({str(layout.auth_socket)!r})\n")


def _write(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(path, mode)


def key_password(session: Session) -> str:
    return urlsafe_b64encode(Vault(session).derived_key(KEY_NAME, info="mail_crypt")).decode()


def _keys(layout: Layout, password: str) -> None:
    private, public = layout.root / "crypt" / "private.pem", layout.root / "crypt" / "public.pem"
    if private.exists() and public.exists():
        return
    key = ec.generate_private_key(ec.SECP256R1())
    _write(private, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(password.encode())), 0o600)
    _write(public, key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo), 0o644)


@dataclass
class Prepared:
    layout: Layout
    account: Account
    env: dict[str, str] = field(repr=False)


def prepare(session: Session, cfg: MessagingSettings) -> Prepared:
    """Writes the configuration, the TLS files, the mail_crypt keys (first start) and the
    checkpassword program into the IMAP dir, owned by Dovecot's account."""
    if not Path(cfg.dovecot).exists():
        raise Invalid(f"Dovecot absent ({cfg.dovecot}) : apt-get install dovecot-imapd "
                      "dovecot-lmtpd", "Dovecot not installed", code="imap-missing")
    acct = account(cfg)
    layout = Layout(cfg.resolved_imap_dir)
    certs = cfg.resolved_tls_dir
    tls.need(certs, "server.crt", "server.key", "trust.pem")
    for d in (layout.root, layout.run, layout.root / "state", layout.mail,
              layout.root / "tls", layout.root / "crypt"):
        d.mkdir(parents=True, exist_ok=True)
        os.chmod(d, 0o755 if d == layout.run else 0o700)  # Dovecot wants its base_dir 0755
    write_tls(cfg, layout, acct)
    password = key_password(session)
    _keys(layout, password)
    _write(layout.helper, _helper_script(layout, acct).encode(), 0o700)
    # Caches an earlier configuration let Dovecot write (headers in clear): removed.
    for cache in layout.mail.rglob("dovecot.index.cache"):
        cache.unlink(missing_ok=True)
    pid_file = layout.run / "master.pid"
    if pid_file.exists() and not _alive(pid_file):
        pid_file.unlink()
    if acct.switch:
        for path in [layout.root, *layout.root.iterdir(),
                     *(layout.root / "tls").iterdir(), *(layout.root / "crypt").iterdir()]:
            os.chown(path, acct.uid, acct.gid)
    return Prepared(layout, acct, {KEY_ENV: password, "TZ": "UTC"})


def write_tls(cfg: MessagingSettings, layout: Layout, acct: Account) -> None:
    """Dovecot's copies of the server certificate, the trust store with the revocation
    lists, and its configuration (which says whether lists are required), for its account."""
    certs = cfg.resolved_tls_dir
    for name in ("server.crt", "server.key"):
        _write(layout.root / "tls" / name, (certs / name).read_bytes(), 0o600)
    _write(layout.root / "tls" / "trust.pem", tls.trust_with_crls(certs), 0o600)
    _write(layout.conf, render(cfg, layout, acct).encode(), 0o600)
    if acct.switch:
        for path in [layout.conf, *(layout.root / "tls").iterdir()]:
            os.chown(path, acct.uid, acct.gid)


def _alive(pid_file: Path) -> bool:
    try:
        pid = int(pid_file.read_text().strip())
        return b"dovecot" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return False


# --- authentication ----------------------------------------------------------------------

def authorise(session: Session, login: str, password: str, ip: str,
              imap_session: str = "") -> str | None:
    """The mailbox address the login opens, or None. The password is an API token of a
    holder of the mailbox; the login names the mailbox (or is the account's e-mail, for its
    personal mailbox). ``imap_session``: Dovecot's id of the session the login opens."""
    login = login.strip().lower()[:254]
    try:
        user, _token = accounts.authenticate_token(session, password)
    except Unauthenticated as exc:
        audit.record(session, actor=Actor(user_id=None, label="imap", ip=ip[:64]),
                     action="messaging.imap.login", object_type="Mailbox", object_id=login[:120],
                     outcome="failure", details={"reason": exc.code})
        return None
    box = mailboxes.by_address(session, login)
    if box is None and login == user.email.lower():
        owned = list(session.scalars(select(Mailbox).where(
            Mailbox.owner_user_id == user.id, Mailbox.kind == "personal",
            Mailbox.active.is_(True)).limit(2)))
        box = owned[0] if len(owned) == 1 else None
    ok = box is not None and box.kind in mailboxes.PROFESSIONAL_KINDS \
        and is_holder(session, Principal.of(user), box)
    audit.record(session, actor=Actor(user_id=user.id, label="imap", ip=ip[:64]),
                 action="messaging.imap.login", object_type="Mailbox",
                 object_id=box.id if ok and box is not None else login[:120],
                 outcome="success" if ok else "failure",
                 details={"session": imap_session[:64]} if ok else None)
    if not ok or box is None:
        return None
    if imap_session and session.scalar(select(ImapSession.id).where(
            ImapSession.session == imap_session[:64])) is None:
        session.add(ImapSession(session=imap_session[:64], user_id=user.id, mailbox_id=box.id,
                                ip=ip[:64]))
    return box.address


class AuthServer(socketserver.ThreadingUnixStreamServer):
    """Answers ``imapcheck`` on a Unix socket only Dovecot's account (and root) can open."""

    daemon_threads = True

    def __init__(self, path: Path, factory: Callable[[], Session], acct: Account) -> None:
        self.factory = factory
        path.unlink(missing_ok=True)
        old = os.umask(0o177)
        try:
            super().__init__(str(path), _AuthHandler)
        finally:
            os.umask(old)
        if acct.switch:
            os.chown(path, acct.uid, acct.gid)

    def check(self, login: str, password: str, ip: str, imap_session: str = "") -> str:
        try:
            with self.factory() as session:
                address = authorise(session, login, password, ip, imap_session)
                session.commit()
        except Exception:
            log.exception("imap: authentication failed on an internal error")
            return "TEMP"
        return f"OK {address}" if address else "NO"


class _AuthHandler(socketserver.StreamRequestHandler):
    server: AuthServer

    def handle(self) -> None:
        self.request.settimeout(10)
        data = b""
        while data.count(b"\0") < 4 and len(data) < 4096:
            chunk = self.request.recv(1024)
            if not chunk:
                break
            data += chunk
        fields = data.decode(errors="replace").split("\0")
        answer = self.server.check(*fields[:4]) if len(fields) >= 4 else "NO"
        self.request.sendall(answer.encode() + b"\n")


# --- feeding -----------------------------------------------------------------------------

def _recipient(address: str, folder: str) -> str:
    detail = FOLDERS.get(folder, "")
    local, _, domain = address.partition("@")
    return f"{local}+{detail}@{domain}" if detail else address


def feed_once(factory: Callable[[], Session], lmtp_path: Path, *, limit: int = 200,
              sent_grace: float = 0.0) -> dict[str, int]:
    """Hands the pending copies to Dovecot over LMTP; each marked fed once Dovecot said 250.
    The sent copy of a message a mail client submitted waits ``sent_grace`` seconds for the
    client's own (``imapsync`` then marks it fed)."""
    done = {"fed": 0, "refused": 0, "left": 0}
    recent = utcnow() - timedelta(seconds=sent_grace)
    with factory() as session:
        ids = list(session.scalars(
            select(Delivery.id).join(Message, Message.id == Delivery.message_pk)
            .where(Delivery.imap_pending.is_(True), Delivery.deleted_at.is_(None),
                   ~(and_(Delivery.folder == "sent", Message.received_via == "submission",
                          Delivery.created_at > recent)))
            .order_by(Delivery.id).limit(limit)))
    if not ids:
        return done
    lmtp = smtplib.LMTP(str(lmtp_path), timeout=60)
    try:
        for n, delivery_id in enumerate(ids):
            with factory() as session:
                copy = session.get(Delivery, delivery_id)
                if copy is None or not copy.imap_pending:
                    continue
                box = session.get_one(Mailbox, copy.mailbox_id)
                message = session.get_one(Message, copy.message_pk)
                raw = Vault(session).decrypt(message.raw_enc, context=message.message_id)
                try:
                    lmtp.sendmail(message.sender, [_recipient(box.address, copy.folder)], raw)
                except smtplib.SMTPRecipientsRefused as exc:
                    code = next(iter(exc.recipients.values()))[0]
                    if code < 500:
                        done["left"] = len(ids) - n
                        return done
                    log.warning("imap: Dovecot refused delivery %d (%d)", delivery_id, code)
                    done["refused"] += 1
                except (smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as exc:
                    if exc.smtp_code < 500:
                        done["left"] = len(ids) - n
                        return done
                    log.warning("imap: Dovecot refused delivery %d (%d)", delivery_id,
                                exc.smtp_code)
                    done["refused"] += 1
                else:
                    done["fed"] += 1
                copy.imap_pending = False
                session.commit()
    finally:
        try:
            lmtp.quit()
        except smtplib.SMTPException:
            lmtp.close()
    return done


# --- the running service -----------------------------------------------------------------

class Dovecot:
    """Dovecot in the foreground (``-F``) as a child process, under its account."""

    def __init__(self, cfg: MessagingSettings, prepared: Prepared) -> None:
        self.cfg, self.prepared = cfg, prepared
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> None:
        p = self.prepared
        errors = open(p.layout.root / "dovecot.err", "ab")  # noqa: SIM115 - the child's stderr
        switch = p.account.switch
        self.proc = subprocess.Popen(  # noqa: S603 - a fixed program, no shell
            [self.cfg.dovecot, "-F", "-c", str(p.layout.conf)], env=p.env,
            stdin=subprocess.DEVNULL, stdout=errors, stderr=errors, start_new_session=True,
            preexec_fn=die_with_parent(),  # a killed service does not leave Dovecot behind
            cwd=p.layout.root, user=p.account.uid if switch else None,
            group=p.account.gid if switch else None, extra_groups=[] if switch else None)
        errors.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise Invalid(f"Dovecot s'est arrêté au démarrage : {self._tail()}",
                              "Dovecot stopped at start", code="imap-start")
            if p.layout.lmtp.exists() and _listening(self.cfg.host, self.cfg.imap_port):
                return
            time.sleep(0.1)
        self.stop()
        raise Invalid(f"Dovecot ne répond pas après {timeout:.0f} s : {self._tail()}",
                      "Dovecot did not start", code="imap-start")

    def _tail(self) -> str:
        text = ""
        for name in ("dovecot.err", "dovecot.log"):
            path = self.prepared.layout.root / name
            if path.exists():
                text += path.read_text(errors="replace")[-600:]
        return " ".join(text.split())[-600:] or "aucun message"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


class Service:
    """What ``esante messaging imap`` runs: Dovecot, the authentication socket and the
    feeding loop."""

    def __init__(self, cfg: MessagingSettings, factory: Callable[[], Session]) -> None:
        self.cfg, self.factory = cfg, factory
        with factory() as session:
            self.prepared = prepare(session, cfg)
            session.commit()  # the key's password (a data key) is created on first start
        self._tls_made = tls.signature(cfg.resolved_tls_dir)
        self.dovecot = Dovecot(cfg, self.prepared)
        self.auth = AuthServer(self.prepared.layout.auth_socket, factory, self.prepared.account)
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._stopped = False

    def start(self) -> None:
        t = threading.Thread(target=self.auth.serve_forever, name="imap-auth", daemon=True)
        t.start()
        self._threads.append(t)
        self.sync(wait=0)  # what a stopped or crashed run left, before Dovecot writes again
        self.dovecot.start()  # on failure or interruption, stop() ends what had started

    def feed(self) -> dict[str, int]:
        return feed_once(self.factory, self.prepared.layout.lmtp,
                         sent_grace=self.cfg.imap_sent_grace_seconds)

    def sync(self, wait: float | None = None) -> int:
        """Brings back what mail clients did (``imapsync``); returns how many lines."""
        running = self.dovecot.proc is not None and self.dovecot.proc.poll() is None
        return imapsync.sync(self.factory, self.prepared.layout.root,
                             self.dovecot.pid if running else None, wait=wait)

    def refresh_tls(self) -> bool:
        """A new revocation list (``esante messaging revoke``), trust store or server
        certificate reaches Dovecot without a restart: its copies and configuration written
        again, then Dovecot reloaded (``SIGHUP`` to its master). Says whether it did."""
        seen = tls.signature(self.cfg.resolved_tls_dir)
        if seen == self._tls_made:
            return False
        p = self.prepared
        try:
            write_tls(self.cfg, p.layout, p.account)
        except (OSError, DomainError):
            log.warning("imap: new certificate files unreadable, Dovecot keeps the previous")
            return False
        self._tls_made = seen
        if self.dovecot.proc is not None and self.dovecot.proc.poll() is None:
            os.kill(self.dovecot.proc.pid, signal.SIGHUP)
            log.info("imap: Dovecot reloaded (certificates or revocation lists)")
        return True

    def push(self) -> int:
        """What was done on the web reaches the mail clients: messages read get ``\\Seen``
        (marked unread, lose it), deleted ones go to ``Trash``, restored ones come back;
        returns how many copies."""
        return (imapsync.push_seen(self.factory, self._mark_seen)
                + imapsync.push_moves(self.factory, self._move))

    def _mark_seen(self, address: str, folder: str, uids: list[int], seen: bool) -> bool:
        return self._doveadm("flags", "add" if seen else "remove", "-u", address, "\\Seen",
                             "mailbox", folder, "uid", ",".join(map(str, uids))) is not None

    def _move(self, address: str, source: str, target: str, uids: list[int]) -> list[str] | None:
        return self._doveadm("move", "-u", address, target, "mailbox", source,
                             "uid", ",".join(map(str, uids)))

    def _doveadm(self, *args: str) -> list[str] | None:
        """Runs doveadm as Dovecot's account; what it logged (its mail_log lines go to its
        standard error), or None when it failed."""
        p = self.prepared
        switch = p.account.switch
        done = subprocess.run(  # noqa: S603 - a fixed program, no shell
            [self.cfg.doveadm, "-c", str(p.layout.conf), *args],
            env=p.env, cwd=p.layout.root, capture_output=True, timeout=60, check=False,
            user=p.account.uid if switch else None, group=p.account.gid if switch else None,
            extra_groups=[] if switch else None)
        if done.returncode != 0:
            log.warning("imap: doveadm %s failed (exit %d)", args[0], done.returncode)
            return None
        return done.stderr.decode("utf-8", errors="replace").splitlines()

    def run_forever(self) -> None:
        while not self._stop.is_set():
            try:
                self.feed()
            except (OSError, smtplib.SMTPException):
                log.warning("imap: Dovecot unreachable for feeding, retrying")
            try:
                self.refresh_tls()
                self.sync()
                self.push()
            except Exception:  # the pieces stay on disk and are read at the next cycle
                log.exception("imap: Dovecot's event log not brought back, retrying")
            if self._stop.is_set():
                return
            if self.dovecot.proc is not None and self.dovecot.proc.poll() is not None:
                raise Invalid("Dovecot s'est arrêté", "Dovecot stopped", code="imap-stopped")
            self._stop.wait(self.cfg.imap_feed_seconds)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._stop.set()
        self.dovecot.stop()
        try:
            self.sync(wait=0)
        except Exception:  # read at the next start
            log.exception("imap: Dovecot's event log not brought back at stop")
        if self._threads:  # shutdown() waits for serve_forever: only once it has run
            self.auth.shutdown()
        self.auth.server_close()
        self.prepared.layout.auth_socket.unlink(missing_ok=True)

