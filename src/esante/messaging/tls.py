"""Certificates of the trust space: ``esante messaging ca`` makes a test authority, the
server's certificate and client certificates for peer operators (demo and tests); the
gateway's TLS contexts are built here (mutual TLS for server-to-server reception).

**Revocation**: ``crl.pem`` beside the trust store holds the certificate revocation list of
each authority of ``trust.pem`` (the test authority's is made with it and signed again by
``esante messaging revoke``; in production, the lists the authorities publish). When it is
there, every certificate a peer or a mail client presents is checked against it, and
refused if revoked, or if its authority has no list or an expired one (closed by default:
a trust space does not take a certificate it cannot check). The servers see a new list (or
a renewed certificate, a new trust store) without a restart: the SMTP gateway checks the
files' times at most once a second when a connection comes (``ServerContexts``), the IMAP
service at each cycle (Dovecot reloaded)."""

from __future__ import annotations

import ipaddress
import logging
import os
import ssl
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from esante.core.errors import Invalid

log = logging.getLogger("esante.messaging.tls")
# What a server's TLS set-up is made of.
SERVER_FILES = ("server.crt", "server.key", "trust.pem")


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "esante (test)"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write(path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.parent / f"{path.name}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path = path.parent / f"{path.name}.key"
    key_path.touch(mode=0o600)
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))


def make_ca(folder: Path, *, name: str = "esante MSS test CA") -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(_name(name)).issuer_name(_name(name))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=825))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                         crl_sign=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    _write(folder / "ca", cert, key)
    (folder / "trust.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _sign_crl(folder, [])


CRL = "crl.pem"
CRL_DAYS = 30


def _ca(folder: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    need(folder, "ca.crt", "ca.key")
    cert = x509.load_pem_x509_certificate((folder / "ca.crt").read_bytes())
    key = serialization.load_pem_private_key((folder / "ca.key").read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return cert, key


def _sign_crl(folder: Path, revoked: list[x509.RevokedCertificate]) -> None:
    """The authority's list, signed again (valid ``CRL_DAYS`` days)."""
    ca_cert, ca_key = _ca(folder)
    now = datetime.now(UTC)
    builder = (x509.CertificateRevocationListBuilder().issuer_name(ca_cert.subject)
               .last_update(now - timedelta(minutes=5))
               .next_update(now + timedelta(days=CRL_DAYS)))
    for entry in revoked:
        builder = builder.add_revoked_certificate(entry)
    crl = builder.sign(ca_key, hashes.SHA256())
    # Written aside then renamed: a server reading it meanwhile sees the old list or the new.
    part = folder / f".{CRL}.part"
    part.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    os.replace(part, folder / CRL)


def revoke(folder: Path, certificate: Path) -> int:
    """Adds a certificate of the folder's authority to its revocation list; returns its
    serial number."""
    try:
        cert = x509.load_pem_x509_certificate(certificate.read_bytes())
    except (OSError, ValueError) as exc:
        raise Invalid(f"certificat illisible : {certificate}", "unreadable certificate",
                      code="tls-cert") from exc
    ca_cert, _key = _ca(folder)
    if cert.issuer != ca_cert.subject:
        raise Invalid("ce certificat n'a pas été émis par l'autorité de ce dossier",
                      "certificate not issued by this folder's authority", code="tls-issuer")
    revoked: list[x509.RevokedCertificate] = []
    if (folder / CRL).exists():
        revoked = list(x509.load_pem_x509_crl((folder / CRL).read_bytes()))
    if all(r.serial_number != cert.serial_number for r in revoked):
        revoked.append(x509.RevokedCertificateBuilder().serial_number(cert.serial_number)
                       .revocation_date(datetime.now(UTC)).build())
    _sign_crl(folder, revoked)
    return cert.serial_number


def trust_with_crls(folder: Path) -> bytes:
    """The trust store and, when there, the revocation lists, in one PEM (Dovecot's
    ``ssl_ca``)."""
    data = (folder / "trust.pem").read_bytes()
    if (folder / CRL).exists():
        data += b"\n" + (folder / CRL).read_bytes()
    return data


def _check_revocation(ctx: ssl.SSLContext, folder: Path) -> None:
    if (folder / CRL).exists():
        ctx.load_verify_locations(cafile=str(folder / CRL))
        ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF


def issue(folder: Path, stem: str, *, names: list[str], client: bool,
          days: int = 397, expired: bool = False) -> Path:
    """A certificate signed by the folder's CA (``ca.crt``/``ca.key``)."""
    ca_cert, ca_key = _ca(folder)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    start, end = (now - timedelta(days=30), now - timedelta(days=1)) if expired else \
        (now - timedelta(minutes=5), now + timedelta(days=days))
    sans: list[x509.GeneralName] = []
    for n in names:
        if "@" in n:  # a mailbox address: a professional's mail client (IMAP)
            sans.append(x509.RFC822Name(n))
            continue
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            sans.append(x509.DNSName(n))
    usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
    cert = (x509.CertificateBuilder().subject_name(_name(names[0]))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256()))
    _write(folder / stem, cert, key)
    return folder / f"{stem}.crt"


def make_all(folder: Path, *, domain: str, clients: list[str]) -> list[Path]:
    make_ca(folder)
    made = [folder / "ca.crt",
            issue(folder, "server", names=[domain, "localhost", "127.0.0.1"], client=False)]
    # The platform's own client certificate, for delivering to other operators.
    made.append(issue(folder, "client", names=[domain], client=True))
    for peer in clients:
        made.append(issue(folder, f"clients/{peer}", names=[peer], client=True))
    return made


def need(folder: Path, *names: str) -> None:
    missing = [n for n in names if not (folder / n).exists()]
    if missing:
        raise Invalid(f"certificats absents de {folder} : {', '.join(missing)} "
                      "(`esante messaging ca` en fabrique pour un essai)", "TLS files missing",
                      code="tls-missing")


def server_context(folder: Path, *, mutual: bool) -> ssl.SSLContext:
    need(folder, "server.crt", "server.key", "trust.pem")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(folder / "server.crt", folder / "server.key")
    if mutual:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(folder / "trust.pem")
        _check_revocation(ctx, folder)
    return ctx


def signature(folder: Path) -> tuple[int, ...]:
    """The modification times of what a server's TLS set-up is made from (0: absent)."""
    out = []
    for name in (*SERVER_FILES, CRL):
        try:
            out.append((folder / name).stat().st_mtime_ns)
        except FileNotFoundError:
            out.append(0)
    return tuple(out)


class ServerContexts:
    """A server's context, made again when its files change (a revocation list, a renewed
    certificate): looked at at most once a ``every`` seconds. A change that does not load
    (a file being replaced) keeps the previous context and is tried again."""

    def __init__(self, folder: Path, *, mutual: bool, every: float = 1.0) -> None:
        self.folder, self.mutual, self.every = folder, mutual, every
        self._made = signature(folder)
        self._ctx = server_context(folder, mutual=mutual)
        self._checked = time.monotonic()

    def current(self) -> ssl.SSLContext:
        now = time.monotonic()
        if now - self._checked >= self.every:
            self._checked = now
            seen = signature(self.folder)
            if seen != self._made:
                try:
                    self._ctx = server_context(self.folder, mutual=self.mutual)
                    self._made = seen
                    log.info("tls: certificates or revocation lists read again")
                except (OSError, ssl.SSLError, Invalid):
                    log.warning("tls: new certificate files unreadable, previous ones kept")
        return self._ctx


def client_context(folder: Path) -> ssl.SSLContext:
    """For delivering to other operators: their server checked against the trust store,
    our client certificate presented."""
    need(folder, "client.crt", "client.key", "trust.pem")
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(folder / "trust.pem"))
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(folder / "client.crt", folder / "client.key")
    _check_revocation(ctx, folder)
    return ctx
