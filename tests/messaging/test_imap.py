"""IMAP through Debian's Dovecot, fed by the platform, with Python's imaplib as the mail
client: a message sent through the SMTP gateway reaches the recipient's IMAP INBOX (body
and attachment intact) and the sender's Sent; tokens as application passwords; one holder
never sees another's mailbox; STARTTLS and IMAPS only; Dovecot's storage is encrypted and
its processes run unprivileged."""

from __future__ import annotations

import email
import imaplib
import os
import smtplib
import socket
import ssl
import time
from email import policy
from pathlib import Path

import pytest
from sqlalchemy import select

from esante.core.audit import AuditEvent
from esante.messaging import imap, mailboxes, mime, tls
from esante.messaging.config import MessagingSettings, get_mss_settings
from esante.messaging.models import Delivery
from tests.messaging.conftest import CLIENT, needs_dovecot

# Skipped on a developer's machine without Dovecot; never in CI, which installs it (.ci/run).
pytestmark = needs_dovecot
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _ctx(cfg: MessagingSettings, cert: Path | None = None, *,
         mutual: bool = True) -> ssl.SSLContext:
    """Trusts the test authority; presents a client certificate (the mail client's, or
    ``cert``) unless not ``mutual``."""
    ctx = ssl.create_default_context(cafile=str(cfg.resolved_tls_dir / "trust.pem"))
    if mutual:
        stem = cert or cfg.resolved_tls_dir / "clients" / CLIENT
        ctx.load_cert_chain(f"{stem}.crt", f"{stem}.key")
    return ctx


class _Imaps(imaplib.IMAP4_SSL):
    source = ""

    def _create_socket(self, timeout):  # type: ignore[no-untyped-def]
        if not self.source:
            return super()._create_socket(timeout)
        sock = socket.create_connection((self.host, self.port), timeout,
                                        source_address=(self.source, 0))
        return self.ssl_context.wrap_socket(sock, server_hostname=self.host)


def _imaps(cfg: MessagingSettings, source: str = "",
           ctx: ssl.SSLContext | None = None) -> imaplib.IMAP4_SSL:
    """An IMAPS client; from another loopback address if ``source`` (Dovecot slows down
    repeated failures from one address)."""
    _Imaps.source = source
    return _Imaps(cfg.host, cfg.imaps_port, ssl_context=ctx or _ctx(cfg), timeout=20)


def _submit(cfg: MessagingSettings, personas, sender: str, to: str, *,  # type: ignore[no-untyped-def]
            subject: str = "Compte rendu", attach: bytes = PDF) -> str:
    draft = mime.Draft(sender=sender, to=[to], subject=subject, text="Bonjour, ci-joint.",
                       attachments=[mime.Attachment("cr.pdf", "application/pdf", attach)])
    msg = mime.build(draft, domain=mailboxes.domain_of(sender), max_attachment_bytes=10**6,
                     accept_html=True)
    with smtplib.SMTP(cfg.host, cfg.submission_port, timeout=20) as smtp:
        smtp.starttls(context=_ctx(cfg, mutual=False))
        smtp.login("doctor@test.esante.fr", personas.tokens["doctor"])
        smtp.send_message(msg, from_addr=sender, to_addrs=[to])
    return str(msg["Message-ID"])


def test_message_from_smtp_read_over_imaps(db, personas, boxes, stack):  # type: ignore[no-untyped-def]
    cfg = stack.cfg
    message_id = _submit(cfg, personas, boxes.doctor.address, boxes.other.address)
    assert stack.feed()["fed"] == 2  # the other's INBOX, the doctor's Sent
    assert not db.scalars(select(Delivery).where(Delivery.imap_pending.is_(True))).all()

    with _imaps(cfg) as client:
        assert client.login(boxes.other.address, personas.tokens["other_doctor"])[0] == "OK"
        status, folders = client.list()
        names = {f.decode().rsplit(" ", 1)[-1].strip('"') for f in folders}
        assert status == "OK" and {"INBOX", "Sent", "Drafts", "Trash"} <= names
        status, count = client.select("INBOX")
        assert status == "OK" and count == [b"1"]
        status, data = client.fetch("1", "(RFC822)")
        assert status == "OK"
        raw = data[0][1]
    got = email.message_from_bytes(raw, policy=policy.default)
    assert got["Message-ID"] == message_id
    assert got["Subject"] == "Compte rendu"
    body = got.get_body(("plain",))
    assert body is not None and "Bonjour, ci-joint." in body.get_content()
    (pdf,) = list(got.iter_attachments())
    assert pdf.get_filename() == "cr.pdf" and pdf.get_content() == PDF

    with _imaps(cfg) as client:  # the sender's copy, in Sent
        client.login(boxes.doctor.address, personas.tokens["doctor"])
        assert client.select("Sent") == ("OK", [b"1"])
        assert client.select("INBOX") == ("OK", [b"0"])

    # The login is audited (granted and refused alike).
    events = db.scalars(select(AuditEvent).where(AuditEvent.action == "messaging.imap.login",
                                                 AuditEvent.outcome == "success")).all()
    assert {e.object_id for e in events} >= {str(boxes.other.id), str(boxes.doctor.id)}


def test_wrong_password_and_other_mailbox_refused(db, personas, boxes, stack):  # type: ignore[no-untyped-def]
    cfg = stack.cfg
    _submit(cfg, personas, boxes.doctor.address, boxes.other.address)
    stack.feed()
    for n, (login, password) in enumerate([
        (boxes.other.address, "not-a-token"),
        (boxes.other.address, personas.tokens["doctor"]),  # the doctor does not hold it
        (boxes.citizen.address, personas.tokens["citizen"]),  # no IMAP for citizens
        ("inconnu@" + get_mss_settings().domain, personas.tokens["doctor"]),
    ]):
        with _imaps(cfg, f"127.0.0.{10 + n}") as client, pytest.raises(imaplib.IMAP4.error,
                                                  match="AUTHENTICATIONFAILED"):
            client.login(login, password)
    refused = db.scalars(select(AuditEvent).where(AuditEvent.action == "messaging.imap.login",
                                                  AuditEvent.outcome == "failure")).all()
    assert len(refused) == 4

    # Mutual TLS: the right token without a valid certificate of the trust store (none,
    # another authority's, a revoked one) is refused before the platform is even asked.
    root = cfg.resolved_tls_dir.parent
    revoked = cfg.resolved_tls_dir / "clients" / "revoked"  # esante messaging revoke
    for n, ctx in enumerate([_ctx(cfg, mutual=False), _ctx(cfg, root / "rogue" / "client"),
                             _ctx(cfg, revoked)]):
        with _imaps(cfg, f"127.0.0.{20 + n}", ctx) as client, \
                pytest.raises(imaplib.IMAP4.error):
            client.login(boxes.other.address, personas.tokens["other_doctor"])
    assert len(db.scalars(select(AuditEvent).where(
        AuditEvent.action == "messaging.imap.login")).all()) == 4

    # The doctor holds the service mailbox too: logging in there shows its mail, not the
    # other's; the account's e-mail opens the personal mailbox.
    with _imaps(cfg) as client:
        client.login(boxes.service.address, personas.tokens["doctor"])
        assert client.select("INBOX") == ("OK", [b"0"])
        status, _ = client.select(f"../{boxes.other.address}/Maildir")
        assert status == "NO"
    with _imaps(cfg) as client:
        client.login("doctor@test.esante.fr", personas.tokens["doctor"])
        assert client.select("Sent") == ("OK", [b"1"])


class _FromElsewhere(imaplib.IMAP4):
    """A client from another address than the server's (Dovecot deems a connection from
    its own address secure): 127.0.0.2 on the loopback."""

    def _create_socket(self, timeout):  # type: ignore[no-untyped-def]
        return socket.create_connection((self.host, self.port), timeout,
                                        source_address=("127.0.0.2", 0))


def test_starttls_required_before_login(db, personas, boxes, stack):  # type: ignore[no-untyped-def]
    cfg = stack.cfg
    with _FromElsewhere(cfg.host, cfg.imap_port, timeout=20) as client:
        assert "LOGINDISABLED" in client.capabilities
        with pytest.raises(imaplib.IMAP4.error):
            client.login(boxes.doctor.address, personas.tokens["doctor"])
    with _FromElsewhere(cfg.host, cfg.imap_port, timeout=20) as client:
        client.starttls(ssl_context=_ctx(cfg))
        assert client.login(boxes.doctor.address, personas.tokens["doctor"])[0] == "OK"
        assert client.select("INBOX")[0] == "OK"


def test_a_certificate_revoked_while_dovecot_runs_is_refused(db, personas, boxes, stack):  # type: ignore[no-untyped-def]
    cfg = stack.cfg
    crt = tls.issue(cfg.resolved_tls_dir, "clients/poste-perdu", names=[CLIENT], client=True)
    stem = crt.with_suffix("")
    assert not stack.refresh_tls()  # nothing changed
    with _imaps(cfg, "127.0.0.30", _ctx(cfg, stem)) as client:
        assert client.login(boxes.other.address, personas.tokens["other_doctor"])[0] == "OK"
    tls.revoke(cfg.resolved_tls_dir, crt)  # esante messaging revoke, Dovecot not restarted
    assert stack.refresh_tls()  # the next cycle: Dovecot reloaded
    for n in range(31, 60):  # Dovecot's processes take the new list a moment later
        try:
            with _imaps(cfg, f"127.0.0.{n}", _ctx(cfg, stem)) as client:
                client.login(boxes.other.address, personas.tokens["other_doctor"])
        except (imaplib.IMAP4.error, ssl.SSLError, OSError):
            break
        time.sleep(0.3)
    else:
        raise AssertionError("still accepted after its revocation")
    with _imaps(cfg, "127.0.0.60") as client:  # the others' certificates still open
        assert client.login(boxes.other.address, personas.tokens["other_doctor"])[0] == "OK"
    assert not stack.refresh_tls()


def test_storage_encrypted_and_dovecot_unprivileged(db, personas, boxes, stack):  # type: ignore[no-untyped-def]
    cfg = stack.cfg
    _submit(cfg, personas, boxes.doctor.address, boxes.other.address,
            subject="Objet très confidentiel", attach=PDF + b"%MARQUEUR-UNIQUE\n")
    assert stack.feed()["fed"] == 2
    root = stack.prepared.layout.root
    files = [p for p in (root / "mail").rglob("*")
             if p.is_file() and p.parent.name in ("cur", "new")]
    assert len(files) == 2
    for path in files:
        data = path.read_bytes()
        assert data.startswith(b"CRYPTED")
        assert b"confidentiel" not in data and b"MARQUEUR" not in data
    # The private key is stored encrypted; its password is nowhere in the IMAP dir.
    assert b"ENCRYPTED PRIVATE KEY" in (root / "crypt" / "private.pem").read_bytes()
    secret = stack.prepared.env[imap.KEY_ENV].encode()
    assert not any(secret in p.read_bytes() for p in root.rglob("*")
                   if p.is_file() and not p.is_socket())
    # Every Dovecot process runs as an ordinary account.
    pid = stack.dovecot.pid
    assert pid is not None
    uids = {line.split()[1] for line in Path(f"/proc/{pid}/status").read_text().splitlines()
            if line.startswith("Uid:")}
    assert uids and "0" not in uids
    assert os.stat(root / "mail").st_uid == stack.prepared.account.uid != 0


def test_print_config_and_cli_errors(imap_cfg, monkeypatch):  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from esante.cli import app

    monkeypatch.setenv("ESANTE_MSS_IMAP_DIR", str(imap_cfg.resolved_imap_dir))
    get_mss_settings.cache_clear()
    try:
        out = CliRunner().invoke(app, ["messaging", "imap", "--print-config"])
        assert out.exit_code == 0, out.output
        assert "mail_crypt_global_private_key_password = %{env:ESANTE_MSS_IMAP_KEY}" in out.output
        assert "driver = checkpassword" in out.output and "ssl = required" in out.output
        assert str(imap_cfg.resolved_imap_dir) in out.output
        monkeypatch.setenv("ESANTE_MSS_DOVECOT", "/nonexistent/dovecot")
        get_mss_settings.cache_clear()
        out = CliRunner().invoke(app, ["messaging", "imap"])
        assert out.exit_code == 1 and "Dovecot absent" in out.output
    finally:
        get_mss_settings.cache_clear()
