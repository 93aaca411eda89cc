"""Local identities: RNIV statuses and their rules, encryption at rest, the single outward
INS gate, duplicate candidates and collisions, and establishment isolation."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from esante.core.accounts import service as accounts
from esante.core.audit import Actor, AuditEvent
from esante.core.errors import Conflict, Forbidden, Invalid, NotFound
from esante.identity import duplicates, service
from esante.identity.models import IdentityEvent, LocalIdentity, VigilancePair
from esante.identity.traits import Traits
from tests.identity.conftest import make_nir, principal, traits_of


def _create(db, personas, traits, who="clerk_a", **kw):
    return service.create(db, principal(personas, who), finess=personas.est["A"].finess,
                          traits=traits, **kw)


def test_provisional_then_validated_then_qualified(db, personas, ref):
    p = principal(personas, "clerk_a")
    identity, found = _create(db, personas, Traits("Martin", ["Jeanne", "Marie"], "F",
                                                   "1980-05-12", "75056"))
    assert (identity.status, found) == ("PROV", [])
    assert "aucune pièce" in identity.status_reason
    service.check_document(db, p, identity, "PERMIS_CONDUIRE")  # low trust: unchanged
    assert identity.status == "PROV"
    service.check_document(db, p, identity, "CNI")
    assert identity.status == "VALI" and "Carte nationale d'identité" in identity.status_reason
    assert service.outward_ins_or_none(db, identity) is None
    answer = service.match_directory(db, p, identity)
    assert answer.code == "00" and identity.status == "QUAL"
    assert identity.reference_person_id == ref.jeanne.id
    assert service.outward_ins(db, p, identity) == {"matricule": ref.jeanne.matricule,
                                                    "oid": "1.2.250.1.213.1.4.8"}
    events = db.scalars(select(IdentityEvent).where(IdentityEvent.identity_id == identity.id)
                        .order_by(IdentityEvent.id)).all()
    assert [(e.kind, e.from_status, e.to_status) for e in events] == [
        ("created", "", "PROV"), ("document", "PROV", "PROV"), ("status", "PROV", "VALI"),
        ("status", "VALI", "QUAL")]
    assert all(e.actor_id == personas.users["clerk_a"].id for e in events)
    assert "annuaire de référence" in events[-1].how


def test_recovered_without_document_and_directory_traits_kept(db, personas, ref):
    p = principal(personas, "clerk_a")
    identity, _ = _create(db, personas, Traits("Bernard", ["Paul"], "M", "1970-01-01", "13055"))
    service.match_directory(db, p, identity)
    assert identity.status == "RECUP"
    with pytest.raises(Conflict, match="seule une identité qualifiée"):
        service.outward_ins(db, p, identity)
    data = service.decode_traits(db, identity)
    assert data["from_directory"] and data["matricule"] == ref.paul_marseille.matricule


def test_minor_with_family_booklet_and_adult_without(db, personas, ref):
    child, _ = _create(db, personas, traits_of(ref.twin_lea), document="LIVRET_FAMILLE")
    assert child.status == "VALI"
    adult, _ = _create(db, personas, traits_of(ref.jeanne), document="LIVRET_FAMILLE")
    assert adult.status == "PROV"


def test_doubtful_forces_provisional_and_forbids_the_directory(db, personas, ref):
    p = principal(personas, "clerk_a")
    identity, _ = _create(db, personas, traits_of(ref.jeanne), attribute="DOUT", document="CNI")
    assert identity.status == "PROV" and "douteuse" in identity.status_reason
    with pytest.raises(Conflict, match="ne peut pas être interrogé"):
        service.match_directory(db, p, identity)
    assert db.scalar(select(AuditEvent).where(
        AuditEvent.action == "identity.directory.search")) is None
    qualified, _ = _create(db, personas, traits_of(ref.luc_henri), document="PASSEPORT")
    service.match_directory(db, p, qualified)
    assert qualified.status == "QUAL"
    service.set_attribute(db, p, qualified, "FICT", "identité d'emprunt")
    assert qualified.status == "PROV"
    assert service.outward_ins_or_none(db, qualified) is None


def test_traits_and_nir_encrypted_at_rest(db, personas, ref):
    nir = make_nir("F", "1980-05-12", "75056", 101)
    identity, _ = _create(db, personas, Traits("Lefèvre", ["Zoé"], "F", "1980-05-12"),
                          matricule=nir)
    raw = db.execute(select(LocalIdentity.traits_enc).where(
        LocalIdentity.id == identity.id)).scalar_one()
    assert b"LEFEVRE" not in raw and nir.encode() not in raw and b"ZOE" not in raw
    assert identity.nir_hash and nir not in identity.nir_hash
    assert service.decode_traits(db, identity)["birth_name"] == "LEFEVRE"


@pytest.mark.parametrize(("change", "message"), [
    ({"birth_place": "75999"}, "lieu de naissance 75999 inconnu"),
    ({"birth_date": "1980-02-30"}, "impossible"),
    ({"birth_name": "Mart!n"}, "caractère « ! » non autorisé"),
])
def test_bad_traits_save_nothing(db, personas, ref, change, message):
    before = db.scalar(select(LocalIdentity.id).order_by(LocalIdentity.id.desc()))
    with pytest.raises(Invalid, match=message):
        _create(db, personas, traits_of(ref.jeanne, **change))
    assert db.scalar(select(LocalIdentity.id).order_by(LocalIdentity.id.desc())) == before


def test_duplicate_candidates_at_creation(db, personas, ref):
    first, _ = _create(db, personas, Traits("Dupont", ["Émilie", "Rose"], "F", "1985-04-07",
                                            "75056", used_name="Martin"))
    # same person typed with the used name as birth name and the day and month swapped
    second, found = _create(db, personas, Traits("Martin", ["Emilie"], "F", "1985-07-04"))
    assert [c.identity.id for c in found] == [first.id]  # found through the swapped date
    assert {"nom d'usage commun", "jour et mois inversés"} <= set(found[0].reasons)
    # the engine's probability: likely the same person, so the pair goes to the cell's queue
    assert found[0].score >= 60
    pair = db.scalars(select(VigilancePair).where(VigilancePair.second_id == second.id)).one()
    assert pair.first_id == first.id and pair.state == "open"
    third, found = _create(db, personas, Traits("Dupont", ["Emilie"], "F", "1985-07-04",
                                                "75056"))
    assert found and found[0].identity.id == first.id
    assert "jour et mois inversés" in found[0].reasons
    pairs = db.scalars(select(VigilancePair).where(VigilancePair.second_id == third.id)).all()
    assert first.id in {p.first_id for p in pairs} and {p.state for p in pairs} == {"open"}
    # a twin is a candidate but scores below the queue
    lea, _ = _create(db, personas, traits_of(ref.twin_lea))
    louise, found = _create(db, personas, traits_of(ref.twin_louise))
    assert [c.identity.id for c in found] == [lea.id] and found[0].score < 60
    assert duplicates.TWINS in found[0].reasons
    assert db.scalar(select(VigilancePair).where(VigilancePair.second_id == louise.id)) is None


def test_same_ins_on_different_traits_is_a_collision(db, personas, ref):
    p = principal(personas, "clerk_a")
    a, _ = _create(db, personas, traits_of(ref.jeanne))
    service.match_directory(db, p, a)
    b, _ = _create(db, personas, Traits("Martin", ["Jeanne"], "F", "1980-05-12", "75056",
                                        used_name="Roux"))
    service.match_directory(db, p, b)
    pairs = db.scalars(select(VigilancePair).where(VigilancePair.second_id == b.id)).all()
    assert pairs and pairs[0].first_id == a.id


def test_one_establishment_never_sees_anothers_identities(db, personas, ref, client):
    clerk_b = accounts.create_user(db, actor=Actor.system("t"), email="clerk_b@test.esante.fr",
                                   password="correct-horse-battery-staple-42",
                                   display_name="Clerk B")
    accounts.grant_role(db, actor=Actor.system("t"), user=clerk_b, role="identity_clerk",
                        scope_kind="establishment", scope_ref=personas.est["B"].finess)
    _, token = accounts.create_token(db, actor=Actor.system("t"), user=clerk_b,
                                     scopes=["read", "write"])
    identity, _ = _create(db, personas, traits_of(ref.jeanne))
    from esante.core.policy import Principal

    pb = Principal.of(clerk_b)
    with pytest.raises(NotFound):
        service.get(db, pb, identity.id)
    with pytest.raises(Forbidden):
        service.search(db, pb, finess=personas.est["A"].finess, birth_name="Martin")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(f"/api/identity/identities/{identity.id}", headers=headers
                      ).status_code == 404
    a = personas.est["A"].finess
    assert client.get(f"/api/identity/establishments/{a}/identities?birth_name=Martin",
                      headers=headers).status_code == 403
    # B's own desk sees only B's records
    own = service.create(db, pb, finess=personas.est["B"].finess, traits=traits_of(ref.jeanne))[0]
    assert [i.id for i, _ in service.search(db, pb, finess=personas.est["B"].finess,
                                            birth_name="MARTIN")] == [own.id]
    assert not any(c.identity.finess != own.finess for c in service.create(
        db, pb, finess=own.finess, traits=traits_of(ref.jeanne))[1])


def test_api_create_search_read(client, personas, db, ref):
    a = personas.est["A"].finess
    h = personas.auth("clerk_a")
    body = {"traits": {"birth_name": "Martin", "first_names": ["Jeanne", "Marie"], "sex": "F",
                       "birth_date": "1980-05-12", "birth_place": "75056"},
            "document": "CNI"}
    r = client.post(f"/api/identity/establishments/{a}/identities", json=body, headers=h)
    assert r.status_code == 201, r.text
    created = r.json()["identity"]
    assert created["status"] == "VALI" and created["status_label"] == "Identité validée"
    preview = client.post(f"/api/identity/establishments/{a}/candidates", json=body, headers=h)
    assert preview.json()[0]["id"] == created["id"]
    found = client.get(f"/api/identity/establishments/{a}/identities",
                       params={"birth_name": "martin", "birth_date": "1980-05-12"}, headers=h)
    assert [x["id"] for x in found.json()] == [created["id"]]
    m = client.post(f"/api/identity/identities/{created['id']}/directory", headers=h)
    assert m.json()["answer"]["code"] == "00" and m.json()["identity"]["status"] == "QUAL"
    ins = client.get(f"/api/identity/identities/{created['id']}/ins", headers=h)
    assert ins.json()["matricule"] == ref.jeanne.matricule
    detail = client.get(f"/api/identity/identities/{created['id']}", headers=h).json()
    assert [e["to_status"] for e in detail["history"]] == ["VALI", "QUAL"]
    reads = db.scalars(select(AuditEvent).where(AuditEvent.action == "identity.local.read")).all()
    assert reads and all(e.actor_id == personas.users["clerk_a"].id for e in reads)
    bad = client.post(f"/api/identity/establishments/{a}/identities", headers=h,
                      json={**body, "nir": "279035121518900"})
    assert bad.status_code == 422 and "clé attendue 89, reçue 00" in bad.text
