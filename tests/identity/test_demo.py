"""The identity part of ``esante demo``: directory size from the setting, idempotent,
a qualified identity and a duplicate in the queue of the anchor establishment."""

from __future__ import annotations

from sqlalchemy import func, select

from esante.core.accounts import service as accounts
from esante.core.audit import Actor
from esante.identity import demo
from esante.identity.models import LocalIdentity, ReferencePerson, VigilancePair


def test_demo_seed(db, personas, monkeypatch):
    monkeypatch.setenv("ESANTE_DEMO_DIRECTORY_PEOPLE", "400")
    assert demo.seed_directory(db) == 400
    assert demo.seed_directory(db) == 0
    assert db.scalar(select(func.count()).select_from(ReferencePerson)) == 400
    clerk = accounts.create_user(db, actor=Actor.system("t"), email="desk@test.esante.fr",
                                 password="correct-horse-battery-staple-42",
                                 display_name="Desk")
    finess = personas.est["A"].finess
    accounts.grant_role(db, actor=Actor.system("t"), user=clerk, role="identity_clerk",
                        scope_kind="establishment", scope_ref=finess)
    assert demo.seed_local(db, finess=finess, clerk_email="desk@test.esante.fr") == 3
    assert demo.seed_local(db, finess=finess, clerk_email="desk@test.esante.fr") == 0
    statuses = sorted(db.scalars(select(LocalIdentity.status)))
    assert statuses == ["PROV", "PROV", "QUAL"]
    assert db.scalar(select(VigilancePair.kind)) == "duplicate"
