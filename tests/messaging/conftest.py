"""Mailboxes of the personas: the doctor's and the other doctor's personal boxes, a service
box of establishment A read by the doctor, and the citizen's box opened for a qualified
identity (Jeanne Martin of the reference directory)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from esante.core.audit import Actor
from esante.core.policy import Principal
from esante.identity import service as identities
from esante.identity.models import LocalIdentity
from esante.identity.traits import Traits
from esante.messaging import gateway, imap, mailboxes, tls
from esante.messaging.config import MessagingSettings, get_mss_settings
from esante.messaging.models import Mailbox
from tests.conftest import on_test_connection
from tests.e2e.server import free_port
from tests.identity.conftest import person

LOINC_CR = "11490-0"


def cda(*, ins: str = "", oid: str = "1.2.250.1.213.1.4.8", code: str = LOINC_CR,
        local: str = "IPP-1") -> bytes:
    pid = f'<id root="{oid}" extension="{ins}"/>' if ins else \
        f'<id root="1.2.250.1.71.4.2.7.99" extension="{local}"/>'
    return (f'<?xml version="1.0" encoding="UTF-8"?><ClinicalDocument xmlns="urn:hl7-org:v3">'
            f'<code code="{code}" codeSystem="2.16.840.1.113883.6.1"/><title>Lettre de liaison'
            f'</title><recordTarget><patientRole>{pid}</patientRole></recordTarget>'
            f'</ClinicalDocument>').encode()


@dataclass
class Boxes:
    doctor: Mailbox
    other: Mailbox
    service: Mailbox
    citizen: Mailbox
    identity: LocalIdentity
    ins: str


def principal(personas, name: str) -> Principal:  # type: ignore[no-untyped-def]
    return Principal.of(personas.users[name])


def qualified_identity(db: Session, personas, clerk: str = "clerk_a"):  # type: ignore[no-untyped-def]
    jeanne = person(db, "MARTIN", "JEANNE MARIE", "F", "1980-05-12", "75056", 101)
    p = principal(personas, clerk)
    identity, _ = identities.create(db, p, finess=personas.est["A"].finess,
                                    traits=Traits("Martin", ["Jeanne", "Marie"], "F",
                                                  "1980-05-12", "75056"))
    identities.check_document(db, p, identity, "CNI")
    identities.match_directory(db, p, identity)
    assert identity.status == "QUAL"
    return identity, jeanne.matricule


@pytest.fixture
def boxes(db: Session, personas) -> Boxes:  # type: ignore[no-untyped-def]
    admin = principal(personas, "admin")
    doctor = mailboxes.create(db, admin, kind="personal", local_part="dr.doctor",
                              display_name="Dr Doctor", owner_email="doctor@test.esante.fr",
                              profession="Médecin généraliste", finess=personas.est["A"].finess,
                              establishment="CHU de Paris-Test", town="Paris")
    other = mailboxes.create(db, admin, kind="personal", local_part="dr.other",
                             display_name="Dr Other", owner_email="other_doctor@test.esante.fr",
                             profession="Cardiologue", town="Lyon")
    service = mailboxes.create(db, admin, kind="organisational", local_part="cardio.chu",
                               display_name="Service de cardiologie", town="Paris",
                               members=["doctor@test.esante.fr"])
    identity, ins = qualified_identity(db, personas)
    citizen = mailboxes.open_citizen_mailbox(db, user=personas.users["citizen"],
                                             identity=identity, actor=Actor.system("tests"))
    return Boxes(doctor, other, service, citizen, identity, ins)


# --- IMAP through Debian's Dovecot (test_imap, test_imapsync) -----------------------------

DOVECOT = "/usr/sbin/dovecot"
# Skipped on a developer's machine without Dovecot; never in CI, which installs it (.ci/run).
needs_dovecot = pytest.mark.skipif(not Path(DOVECOT).exists() and not os.environ.get("CI"),
                                   reason="Dovecot absent (apt-get install dovecot-imapd "
                                          "dovecot-lmtpd; .ci/run installs it)")
CLIENT = "poste.cabinet@mss.esante.localhost"  # a mail client's certificate


@pytest.fixture
def imap_cfg(tmp_path: Path) -> Iterator[MessagingSettings]:
    certs = tmp_path / "certs"
    tls.make_all(certs, domain=get_mss_settings().domain, clients=[CLIENT])
    rogue = tmp_path / "rogue"  # another authority, not in the trust store
    tls.make_ca(rogue, name="rogue CA")
    tls.issue(rogue, "client", names=[CLIENT], client=True)
    tls.revoke(certs, tls.issue(certs, "clients/revoked", names=[CLIENT], client=True))
    # Outside pytest's private temp dir: Dovecot's own account must reach it.
    root = Path(tempfile.mkdtemp(prefix="esante-imap-"))
    yield MessagingSettings(tls_dir=certs, imap_dir=root, submission_port=free_port(),
                            relay_port=free_port(), imap_port=free_port(),
                            imaps_port=free_port(),
                            max_message_bytes=500_000, dovecot=DOVECOT,
                            imap_sent_grace_seconds=0)
    shutil.rmtree(root, ignore_errors=True)


@contextmanager
def smtp_gateway(cfg: MessagingSettings, factory: Callable[[], Session]) -> Iterator[None]:
    """The gateway's submission and relay servers, running for the block."""
    servers = gateway.controllers(cfg, factory)  # type: ignore[arg-type]
    for c in servers:
        c.start()
    try:
        yield
    finally:
        for c in servers:
            c.stop()


@pytest.fixture
def stack(db: Session, imap_cfg: MessagingSettings) -> Iterator[imap.Service]:
    """The SMTP gateway and IMAP (Dovecot, its authentication, feeding and event log) on the
    test's connection."""
    factory = on_test_connection(db)
    with smtp_gateway(imap_cfg, factory):
        service = imap.Service(imap_cfg, factory)
        try:
            service.start()
            yield service
        finally:
            service.stop()
