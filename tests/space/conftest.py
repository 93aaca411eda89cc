"""Space fixtures: Camille's record (qualified INS) created by her doctor, its space with
the letter's code, and the same space activated by the citizen persona with a second
factor."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from esante.core.accounts import service as accounts
from esante.core.audit import Actor
from esante.core.policy import Principal
from esante.space import service
from esante.space.models import Space
from tests.factories import Personas
from tests.fhir import conftest as fhir_fixtures
from tests.fhir.conftest import INS_NIR

fhir = fhir_fixtures.fhir
make_patient = fhir_fixtures.make_patient


@dataclass
class Letter:
    patient: str
    code: str
    space: Space
    secret: str = ""  # the holder's TOTP secret, once activated


@pytest.fixture
def letter(make_patient: Callable[..., str], db: Session) -> Letter:
    pid = make_patient(holder=None, ins=INS_NIR)
    space, code = service.provision(db, patient_fid=pid, actor=Actor.system("tests"))
    return Letter(pid, code, space)


def second_factor(db: Session, personas: Personas, name: str = "citizen") -> str:
    secret = accounts.start_totp_setup(db, user=personas.users[name])
    personas.users[name].totp_confirmed = True
    db.flush()
    return secret


@pytest.fixture
def space(letter: Letter, db: Session, personas: Personas) -> Letter:
    service.activate(db, Principal.of(personas.users["citizen"]), ins=INS_NIR, code=letter.code)
    letter.secret = second_factor(db, personas)
    return letter


def pdf_bytes(text: str = "Compte rendu") -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(0, 10, text)
    return bytes(pdf.output())


def png_bytes() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(buf, format="PNG")
    return buf.getvalue()
