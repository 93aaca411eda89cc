"""The SMTP gateway against Python's smtplib: submission with STARTTLS and AUTH, reception
between operators with client certificates (trusted, untrusted, expired, outside the
whitelist), SMTP codes for bad input, the outbound queue's bounce with its DSN."""

from __future__ import annotations

import smtplib
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from esante.messaging import mailboxes, mime, outbound, tls
from esante.messaging.config import MessagingSettings, get_mss_settings
from esante.messaging.models import Delivery, OutboundItem, Receipt
from tests.conftest import on_test_connection
from tests.e2e.server import free_port as _port
from tests.messaging.conftest import principal, smtp_gateway

PEER = "mss.autre-operateur.fr"
STRANGER = "mss.inconnu.fr"


@pytest.fixture
def certs(tmp_path: Path) -> Path:
    tls.make_all(tmp_path, domain=get_mss_settings().domain, clients=[PEER, STRANGER])
    tls.issue(tmp_path, f"clients/expired-{PEER}", names=[PEER], client=True, expired=True)
    # A certificate the authority revoked (esante messaging revoke) before the gateway starts.
    revoked = tls.issue(tmp_path, f"clients/revoked-{PEER}", names=[PEER], client=True)
    tls.revoke(tmp_path, revoked)
    rogue = tmp_path / "rogue"  # another authority, not in the trust store
    tls.make_ca(rogue, name="rogue CA")
    tls.issue(rogue, "client", names=[PEER], client=True)
    for ext in ("crt", "key"):
        (tmp_path / "clients" / f"rogue-{PEER}.{ext}").write_bytes(
            (rogue / f"client.{ext}").read_bytes())
    return tmp_path


@pytest.fixture
def gw(db: Session, certs: Path) -> Iterator[MessagingSettings]:
    cfg = MessagingSettings(tls_dir=certs, submission_port=_port(), relay_port=_port(),
                            max_message_bytes=200_000, routes=f"{PEER}=127.0.0.1:1")
    with smtp_gateway(cfg, on_test_connection(db)):
        yield cfg


def _client_ctx(certs: Path, peer: str | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(certs / "trust.pem"))
    if peer:
        ctx.load_cert_chain(certs / "clients" / f"{peer}.crt", certs / "clients" / f"{peer}.key")
    return ctx


def _raw(sender: str, to: str, text: str = "Bonjour") -> bytes:
    return mime.build(mime.Draft(sender=sender, to=[to], subject="Essai", text=text),
                      domain=mailboxes.domain_of(sender), max_attachment_bytes=10**6,
                      accept_html=True).as_bytes()


def test_submission_needs_starttls_then_auth(db, personas, boxes, gw, certs):
    with smtplib.SMTP(gw.host, gw.submission_port, timeout=10) as smtp:
        smtp.ehlo()
        assert not smtp.has_extn("auth")  # no password in clear
        with pytest.raises(smtplib.SMTPException):
            smtp.login("doctor@test.esante.fr", personas.tokens["doctor"])
        smtp.starttls(context=_client_ctx(certs, None))
        smtp.ehlo()
        with pytest.raises(smtplib.SMTPAuthenticationError):
            smtp.login("doctor@test.esante.fr", "not-a-token")
        smtp.login("doctor@test.esante.fr", personas.tokens["doctor"])
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:  # not the doctor's box
            smtp.sendmail(boxes.other.address, [boxes.doctor.address],
                          _raw(boxes.other.address, boxes.doctor.address))
        assert refused.value.smtp_code == 553
        with pytest.raises(smtplib.SMTPRecipientsRefused) as unknown:
            smtp.sendmail(boxes.doctor.address, ["personne@mss.esante.localhost"],
                          _raw(boxes.doctor.address, "personne@mss.esante.localhost"))
        assert unknown.value.recipients["personne@mss.esante.localhost"][0] == 550
        with pytest.raises(smtplib.SMTPRecipientsRefused) as outside:
            smtp.sendmail(boxes.doctor.address, ["x@gmail.com"], b"Subject: x\r\n\r\nx")
        assert outside.value.recipients["x@gmail.com"][0] == 550
        with pytest.raises(smtplib.SMTPDataError) as malformed:
            smtp.sendmail(boxes.doctor.address, [boxes.other.address],
                          b"Subject: sans Message-ID ni From\r\n\r\nx")
        assert malformed.value.smtp_code == 550
        with pytest.raises((smtplib.SMTPDataError, smtplib.SMTPSenderRefused)) as big:
            smtp.sendmail(boxes.doctor.address, [boxes.other.address],
                          _raw(boxes.doctor.address, boxes.other.address, "x" * 300_000))
        assert big.value.smtp_code == 552
        smtp.rset()
        smtp.sendmail(boxes.doctor.address, [boxes.other.address],
                      _raw(boxes.doctor.address, boxes.other.address))
    db.expire_all()
    assert db.scalar(select(Delivery).where(Delivery.mailbox_id == boxes.other.id)) is not None


def test_reception_needs_a_trusted_client_certificate_and_a_whitelisted_domain(
        db, personas, boxes, gw, certs):
    mailboxes.add_domain(db, principal(personas, "admin"), domain=PEER, operator="Autre")
    db.commit()
    sender = f"dr.x@{PEER}"
    with smtplib.SMTP(gw.host, gw.relay_port, timeout=10) as smtp:
        smtp.starttls(context=_client_ctx(certs, PEER))
        smtp.sendmail(sender, [boxes.other.address], _raw(sender, boxes.other.address))
        with pytest.raises(smtplib.SMTPRecipientsRefused) as relay:  # no open relay
            smtp.sendmail(sender, ["y@gmail.com"], _raw(sender, "y@gmail.com"))
        assert relay.value.recipients["y@gmail.com"][0] == 550
        with pytest.raises(smtplib.SMTPSenderRefused):  # certificate of another domain
            smtp.sendmail(f"dr@{STRANGER}", [boxes.other.address], b"x")
    with smtplib.SMTP(gw.host, gw.relay_port, timeout=10) as smtp:
        smtp.starttls(context=_client_ctx(certs, STRANGER))
        with pytest.raises(smtplib.SMTPSenderRefused) as untrusted:  # outside the whitelist
            smtp.sendmail(f"dr@{STRANGER}", [boxes.other.address], b"x")
        assert untrusted.value.smtp_code == 550
    def attempt(peer: str | None) -> None:
        with smtplib.SMTP(gw.host, gw.relay_port, timeout=10) as smtp:
            smtp.starttls(context=_client_ctx(certs, peer))
            # TLS 1.3: the server's verdict on the client certificate comes with the next read
            smtp.sendmail(sender, [boxes.other.address], _raw(sender, boxes.other.address))

    # none, expired, untrusted authority, revoked
    for peer in (None, f"expired-{PEER}", f"rogue-{PEER}", f"revoked-{PEER}"):
        with pytest.raises((ssl.SSLError, smtplib.SMTPServerDisconnected, OSError)):
            attempt(peer)
    db.expire_all()
    copies = db.scalars(select(Delivery).where(Delivery.mailbox_id == boxes.other.id)).all()
    assert len(copies) == 1


def test_a_certificate_revoked_while_the_gateway_runs_is_refused(db, personas, boxes, gw,
                                                                  certs):
    mailboxes.add_domain(db, principal(personas, "admin"), domain=PEER, operator="Autre")
    db.commit()
    sender = f"dr.x@{PEER}"

    def send() -> None:
        with smtplib.SMTP(gw.host, gw.relay_port, timeout=10) as smtp:
            smtp.starttls(context=_client_ctx(certs, PEER))
            smtp.sendmail(sender, [boxes.other.address], _raw(sender, boxes.other.address))

    send()
    tls.revoke(certs, certs / "clients" / f"{PEER}.crt")  # esante messaging revoke, no restart
    deadline = time.monotonic() + 10  # the gateway looks at its files once a second at most
    while True:
        try:
            send()
        except (ssl.SSLError, smtplib.SMTPServerDisconnected, OSError):
            break
        assert time.monotonic() < deadline, "still accepted after its revocation"
        time.sleep(0.3)
    db.expire_all()
    assert len(db.scalars(select(Delivery).where(Delivery.mailbox_id == boxes.other.id)).all()) \
        >= 1


def test_outbound_refusal_bounces_with_a_dsn(db, personas, boxes, gw, certs):
    from esante.messaging import delivery

    mailboxes.add_domain(db, principal(personas, "admin"), domain=PEER, operator="Autre")
    msg = delivery.send(db, principal(personas, "doctor"), from_mailbox_id=boxes.doctor.id,
                        draft=mime.Draft("", [f"dr.y@{PEER}"], "Essai", "Texte"))
    # The peer's route is our own reception port: it refuses to relay (550): a bounce.
    cfg = gw.model_copy(update={"routes": f"{PEER}=127.0.0.1:{gw.relay_port}"})
    for ext in ("crt", "key"):  # deliver as the peer would (its certificate is trusted here)
        (certs / f"client.{ext}").write_bytes((certs / "clients" / f"{PEER}.{ext}").read_bytes())
    db.commit()
    done = outbound.run_once(db, cfg=cfg)
    assert done == {"sent": 0, "retry": 0, "bounced": 1}
    item = db.scalar(select(OutboundItem).where(OutboundItem.message_pk == msg.id))
    assert item.state == "bounced" and "550" in item.last_error
    assert db.scalar(select(Receipt.kind).where(Receipt.message_pk == msg.id,
                                                Receipt.recipient == f"dr.y@{PEER}")) == "failed"
    dsn = db.scalars(select(Delivery).where(Delivery.mailbox_id == boxes.doctor.id,
                                            Delivery.folder == "inbox")).all()
    assert len(dsn) == 1


def test_unreachable_peer_is_retried_later(db, personas, boxes, gw, certs):
    from esante.messaging import delivery

    mailboxes.add_domain(db, principal(personas, "admin"), domain=PEER, operator="Autre")
    delivery.send(db, principal(personas, "doctor"), from_mailbox_id=boxes.doctor.id,
                  draft=mime.Draft("", [f"dr.y@{PEER}"], "Essai", "Texte"))
    assert outbound.run_once(db, cfg=gw) == {"sent": 0, "retry": 1, "bounced": 0}
    assert outbound.run_once(db, cfg=gw) == {"sent": 0, "retry": 0, "bounced": 0}  # backoff


def test_revoke_from_the_cli(certs: Path) -> None:
    from cryptography import x509
    from typer.testing import CliRunner

    from esante.cli import app

    cert = certs / "clients" / f"{STRANGER}.crt"
    out = CliRunner().invoke(app, ["messaging", "revoke", str(cert), "--folder", str(certs)])
    assert out.exit_code == 0 and "certificat révoqué" in out.output, out.output
    crl = x509.load_pem_x509_crl((certs / tls.CRL).read_bytes())
    serial = x509.load_pem_x509_certificate(cert.read_bytes()).serial_number
    assert crl.get_revoked_certificate_by_serial_number(serial) is not None
    assert len(list(crl)) == 2  # with the fixture's; revoking again adds nothing
    CliRunner().invoke(app, ["messaging", "revoke", str(cert), "--folder", str(certs)])
    assert len(list(x509.load_pem_x509_crl((certs / tls.CRL).read_bytes()))) == 2
    before = (certs / tls.CRL).read_bytes()
    for bad in (certs / "rogue" / "client.crt", certs / "absent.crt"):  # another authority's
        out = CliRunner().invoke(app, ["messaging", "revoke", str(bad), "--folder", str(certs)])
        assert out.exit_code == 1 and out.output.count("\n") == 1, out.output
    assert (certs / tls.CRL).read_bytes() == before


def test_a_sender_closed_meanwhile_is_refused_at_data(db, personas, boxes, gw, certs):
    """MAIL's yes is kept a few seconds (Recent): the DATA transaction checks again."""
    with smtplib.SMTP(gw.host, gw.submission_port, timeout=10) as smtp:
        smtp.starttls(context=_client_ctx(certs, None))
        smtp.login("doctor@test.esante.fr", personas.tokens["doctor"])
        smtp.sendmail(boxes.doctor.address, [boxes.other.address],
                      _raw(boxes.doctor.address, boxes.other.address))
        boxes.doctor.active = False
        db.commit()
        with pytest.raises(smtplib.SMTPDataError) as refused:
            smtp.sendmail(boxes.doctor.address, [boxes.other.address],
                          _raw(boxes.doctor.address, boxes.other.address))
        assert refused.value.smtp_code == 550
    db.expire_all()
    copies = db.scalars(select(Delivery).where(Delivery.mailbox_id == boxes.other.id)).all()
    assert len(copies) == 1


def test_one_message_split_over_two_transactions_reaches_every_recipient(
        db, personas, boxes, gw, certs):
    """Another operator may send one message (one Message-ID) to our recipients in several
    transactions: each gets it; sending the same again (a retry) adds nothing."""
    mailboxes.add_domain(db, principal(personas, "admin"), domain=PEER, operator="Autre")
    db.commit()
    sender = f"dr.x@{PEER}"
    raw = mime.build(mime.Draft(sender=sender, to=[boxes.other.address, boxes.doctor.address],
                                subject="Deux destinataires", text="Bonjour"),
                     domain=PEER, max_attachment_bytes=10**6, accept_html=True).as_bytes()
    with smtplib.SMTP(gw.host, gw.relay_port, timeout=10) as smtp:
        smtp.starttls(context=_client_ctx(certs, PEER))
        smtp.sendmail(sender, [boxes.other.address], raw)
        smtp.sendmail(sender, [boxes.doctor.address], raw)  # the second transaction
        smtp.sendmail(sender, [boxes.doctor.address], raw)  # a retry
    db.expire_all()
    copies = db.scalars(select(Delivery).where(Delivery.folder == "inbox")).all()
    assert sorted(c.mailbox_id for c in copies) == sorted([boxes.other.id, boxes.doctor.id])
    assert len({c.message_pk for c in copies}) == 1  # one message, stored once
    receipts = db.scalars(select(Receipt).where(Receipt.kind == "delivered")).all()
    assert sorted(r.recipient for r in receipts) == sorted([boxes.other.address,
                                                            boxes.doctor.address])
