"""Mailboxes of the personas: the doctor's and the other doctor's personal boxes, a service
box of establishment A read by the doctor, and the citizen's box opened for a qualified
identity (Jeanne Martin of the reference directory)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from esante.core.audit import Actor
from esante.core.policy import Principal
from esante.identity import service as identities
from esante.identity.models import LocalIdentity
from esante.identity.traits import Traits
from esante.messaging import mailboxes
from esante.messaging.models import Mailbox
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
