"""The identity-vigilance queue: merge with a surviving record, link, not a duplicate,
each reversible and audited; nothing deleted; only the establishment's vigilance cell."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from esante.core.audit import AuditEvent
from esante.core.errors import Conflict, Forbidden, Invalid, NotFound
from esante.identity import service, vigilance
from esante.identity.models import IdentityEvent, LocalIdentity, VigilancePair
from esante.identity.traits import Traits
from tests.identity.conftest import principal


@pytest.fixture
def pair(db, personas) -> VigilancePair:
    clerk = principal(personas, "clerk_a")
    a = personas.est["A"].finess
    service.create(db, clerk, finess=a, traits=Traits("Dupont", ["Émilie"], "F", "1985-04-07",
                                                      "75056"))
    service.create(db, clerk, finess=a, traits=Traits("Dupont", ["Emilie", "Rose"], "F",
                                                      "1985-04-07", "75056"))
    return db.scalars(select(VigilancePair)).one()


def test_merge_and_unmerge(db, personas, pair):
    idv = principal(personas, "idv_a")
    assert vigilance.queue(db, idv, pair.finess) == [pair]
    with pytest.raises(Invalid, match="dossier conservé"):
        vigilance.decide(db, idv, pair, "merge", surviving_id=999)
    vigilance.decide(db, idv, pair, "merge", surviving_id=pair.first_id)
    gone = db.get(LocalIdentity, pair.second_id)
    assert gone.merged_into_id == pair.first_id and pair.state == "merge"
    assert vigilance.queue(db, idv, pair.finess) == []
    with pytest.raises(Conflict):
        vigilance.decide(db, idv, pair, "link")
    vigilance.undo(db, idv, pair)
    assert gone.merged_into_id is None and pair.state == "open"
    assert db.scalar(select(func.count()).select_from(LocalIdentity)) == 2  # nothing deleted
    kinds = db.scalars(select(IdentityEvent.kind).where(
        IdentityEvent.identity_id == pair.second_id).order_by(IdentityEvent.id)).all()
    assert kinds == ["created", "merge", "undo"]
    actions = db.scalars(select(AuditEvent.action).where(
        AuditEvent.object_type == "identity_pair").order_by(AuditEvent.id)).all()
    assert actions == ["identity.vigilance.merge", "identity.vigilance.undo"]


def test_link_and_not_a_duplicate(db, personas, pair):
    idv = principal(personas, "idv_a")
    vigilance.decide(db, idv, pair, "link")
    assert pair.linked and pair.state == "link"
    vigilance.undo(db, idv, pair)
    vigilance.decide(db, idv, pair, "not_duplicate")
    assert vigilance.queue(db, idv, pair.finess, state="not_duplicate") == [pair]


def test_only_the_establishments_vigilance_cell(db, personas, pair):
    with pytest.raises(Forbidden):
        vigilance.decide(db, principal(personas, "clerk_a"), pair, "link")
    with pytest.raises(NotFound):
        vigilance.get_pair(db, principal(personas, "rssi_a"), pair.id)


def test_api_queue_side_by_side_and_decisions(client, personas, pair):
    h = personas.auth("idv_a")
    q = client.get(f"/api/identity/establishments/{pair.finess}/vigilance", headers=h)
    assert q.status_code == 200
    row = q.json()[0]
    assert row["first"]["traits"]["first_names"] == ["EMILIE"]
    assert row["second"]["traits"]["first_names"] == ["EMILIE", "ROSE"]
    r = client.post(f"/api/identity/vigilance/{pair.id}/decision", headers=h,
                    json={"decision": "merge", "surviving_id": pair.second_id})
    assert r.status_code == 200 and r.json()["first"]["merged_into_id"] == pair.second_id
    assert client.post(f"/api/identity/vigilance/{pair.id}/undo", headers=h).json()["state"] \
        == "open"


def test_scan_finds_duplicates_and_collisions_once(db, personas, ref):
    from esante.identity.models import LocalIdentity as Local

    clerk, idv = principal(personas, "clerk_a"), principal(personas, "idv_a")
    a = personas.est["A"].finess
    one, _ = service.create(db, clerk, finess=a, traits=Traits("Roux", ["Inès"], "F",
                                                               "1990-06-01", "75056"))
    two, _ = service.create(db, clerk, finess=a, traits=Traits("Roux", ["Ines", "Marie"], "F",
                                                               "1990-06-01", "75056"))
    db.query(VigilancePair).delete()  # as if they had been loaded without the desk's check
    nir = "279035121518989"
    for first, birth in (("Zoé", "1979-03-04"), ("Léon", "1950-01-01")):
        made, _ = service.create(db, clerk, finess=a, matricule=nir,
                                 traits=Traits("Collin", [first], "F", birth))
        assert isinstance(made, Local)
    db.query(VigilancePair).delete()
    report = vigilance.scan(db, idv, a)
    assert report == {"identities": 4, "new_pairs": 2}
    kinds = sorted(p.kind for p in db.scalars(select(VigilancePair)))
    assert kinds == ["collision", "duplicate"]
    assert vigilance.scan(db, idv, a)["new_pairs"] == 0
    with pytest.raises(Forbidden):
        vigilance.scan(db, clerk, a)
    assert one.id < two.id


def test_same_nir_on_another_birth_date_is_queued_as_a_collision(db, personas):
    clerk = principal(personas, "clerk_a")
    a = personas.est["A"].finess
    for first, birth in (("Zoé", "1979-03-04"), ("Léon", "1950-01-01")):
        service.create(db, clerk, finess=a, matricule="279035121518989",
                       traits=Traits("Collin", [first], "F", birth))
    assert db.scalars(select(VigilancePair.kind)).all() == ["collision"]
