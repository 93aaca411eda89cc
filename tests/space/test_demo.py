"""The demo step: Camille's record with a qualified INS, a report from her doctor, and her
space's activation code (a new one on each run until she activates it)."""

from __future__ import annotations

from esante.core import demo as demo_data
from esante.space import service
from esante.space.demo import DEMO_INS, seed_space


def test_demo_prints_a_working_code(db) -> None:
    demo_data.seed_establishments(db)
    demo_data.seed_personas(db)
    ins, first = seed_space(db)
    ins_again, second = seed_space(db)
    assert ins == ins_again == DEMO_INS and first and second and first != second
    from esante.core.accounts.models import User
    from esante.core.policy import Principal

    camille = db.query(User).filter_by(email="camille.martin@demo.esante.fr").one()
    space = service.activate(db, Principal.of(camille), ins=DEMO_INS, code=second)
    assert space.status == "active"
    assert seed_space(db) == (DEMO_INS, "")
