"""Mutual aid: who posts, who sees (region, GHT, nation), matching by topic and visibility,
closure with its timeline, in-app notifications, refusals, pages."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from esante.core.notifications.models import Notification
from esante.core.orgs import service as orgs
from tests.core.test_auth import csrf_of, login
from tests.factories import Personas

URL = "/api/cyber/aid"


def post(client: TestClient, personas: Personas, who: str = "rssi_a", est: str = "A",
         **overrides: Any) -> dict[str, Any]:
    body = {"finess": personas.est[est].finess, "kind": "request", "topic": "workstations",
            "title": "Besoin de 40 postes de travail", "description": "Parc chiffré.",
            **overrides}
    r = client.post(URL, headers=personas.auth(who), json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def sees(client: TestClient, personas: Personas, who: str, post_id: int) -> bool:
    one = client.get(f"{URL}/{post_id}", headers=personas.auth(who)).status_code
    listed = client.get(URL, headers=personas.auth(who))
    in_list = listed.status_code == 200 and post_id in [x["id"] for x in listed.json()["items"]]
    assert (one == 200) == in_list, (who, one, in_list)  # the list and the rule agree
    return one == 200


def notes(db: Session, personas: Personas, who: str) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == personas.users[who].id,
        Notification.link.like("/cyber/entraide/%"))) or 0


def test_a_territory_post_is_seen_by_its_region_and_ght_and_the_cell(
        client: TestClient, personas: Personas, db: Session) -> None:
    request = post(client, personas)
    assert request["status"] == "open" and request["visibility"] == "territory"
    assert request["timeline"][0]["kind"] == "created"
    seen = {who: sees(client, personas, who, request["id"])
            for who in ("rssi_a", "director_a", "regional", "analyst", "rssi_b")}
    assert seen == {"rssi_a": True, "director_a": True, "regional": True, "analyst": True,
                    "rssi_b": False}
    for who in ("citizen", "doctor", "admin", "outsider"):
        assert client.get(URL, headers=personas.auth(who)).status_code == 403, who
        assert client.get(f"{URL}/{request['id']}",
                          headers=personas.auth(who)).status_code == 404, who
    # B (Lyon) joins A's GHT: A's next territory post reaches B through the GHT.
    ght = orgs.get_or_create_ght(db, name="GHT Test Paris-Lyon", region_code="11")
    personas.est["A"].ght_id = personas.est["B"].ght_id = ght.id
    db.flush()
    in_ght = post(client, personas, title="Renfort en cellule de crise", topic="crisis_staff")
    assert in_ght["ght"] == "GHT Test Paris-Lyon"
    assert sees(client, personas, "rssi_b", in_ght["id"])
    assert not sees(client, personas, "rssi_b", request["id"])  # posted before, outside


def test_a_national_post_is_seen_everywhere_and_only_staff_post(
        client: TestClient, personas: Personas) -> None:
    offer = post(client, personas, who="rssi_b", est="B", kind="offer", visibility="national",
                 title="Prêt de 20 portables")
    for who in ("rssi_a", "director_a", "regional", "analyst", "rssi_b"):
        assert sees(client, personas, who, offer["id"]), who
    body = {"finess": personas.est["B"].finess, "kind": "request", "topic": "expertise",
            "title": "Aide"}
    for who in ("rssi_a", "regional", "analyst", "admin", "doctor", "citizen"):
        assert client.post(URL, headers=personas.auth(who), json=body).status_code == 403, who
    bad = client.post(URL, headers=personas.auth("rssi_b"), json={**body, "topic": "magic"})
    assert bad.status_code == 422


def test_matching_by_topic_and_visibility_then_closure(
        client: TestClient, personas: Personas, db: Session) -> None:
    offer = post(client, personas, who="rssi_b", est="B", kind="offer", visibility="national",
                 title="Prêt de 20 portables")
    other_topic = post(client, personas, who="rssi_b", est="B", kind="offer",
                       visibility="national", topic="expertise", title="Expert annuaire")
    territory = post(client, personas)  # A's request, not meant for Lyon
    cell = personas.auth("analyst")
    refused = client.post(f"{URL}/{territory['id']}/matches", headers=cell,
                          json={"other_id": offer["id"]})
    assert refused.status_code == 422
    assert "diffusion" in refused.json()["detail"]
    request = post(client, personas, visibility="national")
    wrong = client.post(f"{URL}/{request['id']}/matches", headers=personas.auth("rssi_a"),
                        json={"other_id": other_topic["id"]})
    assert wrong.status_code == 422 and "sujets différents" in wrong.json()["detail"]
    same_kind = client.post(f"{URL}/{request['id']}/matches", headers=personas.auth("rssi_a"),
                            json={"other_id": territory["id"]})
    assert same_kind.status_code == 422
    # Candidates: same topic, compatible visibility, not closed.
    cands = client.get(f"{URL}/{request['id']}/candidates", headers=personas.auth("rssi_a"))
    assert [c["id"] for c in cands.json()] == [offer["id"]]
    assert client.get(f"{URL}/{territory['id']}/candidates",
                      headers=personas.auth("rssi_a")).json() == []

    before = notes(db, personas, "rssi_b")
    matched = client.post(f"{URL}/{request['id']}/matches", headers=personas.auth("rssi_a"),
                          json={"other_id": offer["id"]})
    assert matched.status_code == 201, matched.text
    assert matched.json()["status"] == "matched"
    assert matched.json()["matched_with"] == [offer["id"]]
    assert notes(db, personas, "rssi_b") == before + 1  # the other party is told
    assert notes(db, personas, "rssi_a") == 0  # not the one who matched
    again = client.post(f"{URL}/{request['id']}/matches", headers=personas.auth("rssi_a"),
                        json={"other_id": offer["id"]})
    assert again.status_code == 409
    offer_now = client.get(f"{URL}/{offer['id']}", headers=personas.auth("rssi_b")).json()
    assert offer_now["status"] == "matched"
    assert [e["kind"] for e in offer_now["timeline"]] == ["created", "matched"]

    # Closure: by its establishment (or the cell), with a summary.
    assert client.post(f"{URL}/{request['id']}/close", headers=personas.auth("rssi_b"),
                       json={"note": "x"}).status_code == 403
    assert client.post(f"{URL}/{request['id']}/close", headers=personas.auth("rssi_a"),
                       json={"note": ""}).status_code == 422
    closed = client.post(f"{URL}/{request['id']}/close", headers=personas.auth("director_a"),
                         json={"note": "20 portables reçus, merci Lyon."})
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed" and closed.json()["closed_at"]
    assert [e["kind"] for e in closed.json()["timeline"]] == ["created", "matched", "closed"]
    offer_after = client.get(f"{URL}/{offer['id']}", headers=personas.auth("rssi_b")).json()
    assert offer_after["status"] == "open"  # free to help someone else
    assert offer_after["timeline"][-1]["kind"] == "match_closed"
    assert notes(db, personas, "rssi_b") == before + 2
    late = client.post(f"{URL}/{request['id']}/matches", headers=cell,
                       json={"other_id": offer["id"]})
    assert late.status_code in (409, 422)


def test_the_region_and_the_cell_may_match_but_not_an_outsider_establishment(
        client: TestClient, personas: Personas, db: Session) -> None:
    request = post(client, personas, visibility="national")
    offer = post(client, personas, who="rssi_b", est="B", kind="offer", visibility="national")
    third = post(client, personas, who="rssi_b", est="B", kind="offer", visibility="national",
                 title="Deuxième offre")
    r = client.post(f"{URL}/{request['id']}/matches", headers=personas.auth("regional"),
                    json={"other_id": offer["id"]})
    assert r.status_code == 201, r.text
    assert notes(db, personas, "rssi_a") == 1 and notes(db, personas, "rssi_b") == 1
    r = client.post(f"{URL}/{third['id']}/matches", headers=personas.auth("analyst"),
                    json={"other_id": request["id"]})
    assert r.status_code == 201
    assert sorted(r.json()["matched_with"]) == [request["id"]]


def test_aid_pages(client: TestClient, personas: Personas) -> None:
    offer = post(client, personas, who="rssi_b", est="B", kind="offer", visibility="national",
                 title="Prêt de 20 portables")
    login(client, personas, "rssi_a")
    board = client.get("/cyber/entraide")
    assert board.status_code == 200 and "Prêt de 20 portables" in board.text
    form = client.get("/cyber/entraide/nouveau?kind=request")
    assert form.status_code == 200
    data = {"csrf_token": csrf_of(form.text), "finess": personas.est["A"].finess,
            "kind": "request", "topic": "workstations", "visibility": "national",
            "title": "Besoin de postes", "description": "Urgent.", "contact": "Cellule de crise"}
    bad = client.post("/cyber/entraide/nouveau", data={**data, "title": ""})
    assert bad.status_code == 422 and 'id="form-error"' in bad.text
    r = client.post("/cyber/entraide/nouveau", data=data, follow_redirects=False)
    assert r.status_code == 303, r.text
    page_url = r.headers["location"]
    page = client.get(page_url)
    assert page.status_code == 200 and 'id="candidates"' in page.text
    assert "Prêt de 20 portables" in page.text
    r = client.post(f"{page_url}/action", data={"csrf_token": csrf_of(page.text),
                                                "action": "match",
                                                "other_id": str(offer["id"])},
                    follow_redirects=False)
    assert r.status_code == 303 and "erreur" not in r.headers["location"]
    page = client.get(page_url)
    assert "Mise en relation" in page.text and 'id="matches"' in page.text
    r = client.post(f"{page_url}/action", data={"csrf_token": csrf_of(page.text),
                                                "action": "close", "note": "Reçus."},
                    follow_redirects=False)
    assert r.status_code == 303
    assert "Close" in client.get(page_url).text

    client.cookies.clear()
    login(client, personas, "regional")
    assert client.get("/cyber/entraide").status_code == 200
    assert client.get("/cyber/entraide/nouveau").status_code == 403
    client.cookies.clear()
    login(client, personas, "doctor")
    assert client.get("/cyber/entraide").status_code == 403
    assert client.get(page_url).status_code == 404
