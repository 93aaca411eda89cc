"""Reference persons with known traits: an adult, twins on a parent's card, homonyms born
the same day in two places, a person with a former NIA."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from esante.core.policy import Principal
from esante.identity import nir
from esante.identity.directory import OID_NIA, OID_NIR
from esante.identity.models import FormerMatricule, ReferencePerson
from esante.identity.traits import Traits


def make_nir(sex: str, birth: str, place: str, order: int, *, nia: bool = False) -> str:
    digit = {"M": "1", "F": "2"}[sex] if not nia else {"M": "7", "F": "8"}[sex]
    head = f"{digit}{birth[2:4]}{birth[5:7]}{place}{order:03d}"
    return head + nir.key_of(head)


PARENT = make_nir("F", "1985-06-01", "69123", 77)


@dataclass
class Ref:
    jeanne: ReferencePerson
    twin_lea: ReferencePerson
    twin_louise: ReferencePerson
    paul_marseille: ReferencePerson
    paul_bordeaux: ReferencePerson
    luc_henri: ReferencePerson
    luc_marc: ReferencePerson


def person(db: Session, birth_name: str, first_names: str, sex: str, birth: str, place: str,
           order: int, holder: str = "") -> ReferencePerson:
    matricule = make_nir(sex, birth, place, order)
    p = ReferencePerson(matricule=matricule, oid=OID_NIR, birth_name=birth_name,
                        first_names=first_names, sex=sex, birth_date=birth, birth_place=place,
                        card_holder=holder or matricule)
    db.add(p)
    db.flush()
    return p


@pytest.fixture
def ref(db: Session) -> Ref:
    jeanne = person(db, "MARTIN", "JEANNE MARIE", "F", "1980-05-12", "75056", 101)
    db.add(FormerMatricule(person_id=jeanne.id, oid=OID_NIA,
                           matricule=make_nir("F", "1980-05-12", "75056", 5, nia=True),
                           until="1981"))
    return Ref(
        jeanne=jeanne,
        twin_lea=person(db, "DURAND", "LEA ANNE", "F", "2015-03-03", "69123", 11, PARENT),
        twin_louise=person(db, "DURAND", "LOUISE ANNE", "F", "2015-03-03", "69123", 12, PARENT),
        paul_marseille=person(db, "BERNARD", "PAUL", "M", "1970-01-01", "13055", 5),
        paul_bordeaux=person(db, "BERNARD", "PAUL", "M", "1970-01-01", "33063", 6),
        luc_henri=person(db, "PETIT", "LUC HENRI", "M", "1990-02-02", "59350", 7),
        luc_marc=person(db, "PETIT", "LUC MARC", "M", "1990-02-02", "59350", 8),
    )


def traits_of(p: ReferencePerson, **change: str) -> Traits:
    values = {"birth_name": p.birth_name, "first_names": p.first_names.split(" "),
              "sex": p.sex, "birth_date": p.birth_date, "birth_place": p.birth_place} | change
    return Traits(**values)  # type: ignore[arg-type]


def principal(personas, name: str) -> Principal:  # type: ignore[no-untyped-def]
    return Principal.of(personas.users[name])
