"""Maturity self-assessment: scoring, recommendations, history, the peers' median and its
privacy threshold, evidence encrypted at rest, access, bad input, pages."""

from __future__ import annotations

import statistics
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from esante.core.audit import Actor
from esante.core.orgs import service as orgs
from esante.cyber.maturity import scoring, service
from esante.cyber.maturity.catalogue import catalogue
from esante.cyber.maturity.models import MaturityAnswer, MaturityAssessment
from tests.core.test_auth import csrf_of
from tests.core.test_policy_matrix import _sign_in
from tests.factories import Personas, finess

URL = "/api/cyber/maturity"


def answers(default: str = "done", **overrides: str) -> dict[str, dict[str, str]]:
    out = {i.code: {"answer": default} for i in catalogue().items}
    for code, answer in overrides.items():
        out[code] = {"answer": answer}
    return out


def submit(client: TestClient, personas: Personas, who: str = "rssi_a", est: str = "A",
           body: dict[str, Any] | None = None) -> Any:
    return client.post(f"{URL}/{personas.est[est].finess}/assessments",
                       headers=personas.auth(who), json=body or {"answers": answers()})


# --- scoring ------------------------------------------------------------------------------------

def test_catalogue_has_the_42_measures_in_10_chapters_and_the_governance_items():
    cat = catalogue()
    measures = [i for i in cat.items if i.number is not None]
    assert [i.number for i in measures] == list(range(1, 43))
    assert len({i.chapter for i in measures}) == 10
    assert {i.level for i in cat.items} == {"standard", "renforce"}
    assert cat.by_code()["M39"].title.startswith("Désigner un référent")
    assert len([i for i in cat.items if i.chapter == "GS"]) == 6


def test_scores_weigh_standard_twice_and_leave_out_not_applicable():
    cat = catalogue()
    plain = {i.code: "done" for i in cat.items}
    assert scoring.score(cat, plain).overall == 100.0
    # Chapter I: three standard measures (weight 2 each): done, partial, not done → 50.
    s = scoring.score(cat, {**plain, "M02": "partial", "M03": "not_done"})
    assert s.chapters["I"] == 50.0
    # Chapter X: two reinforced measures; one not applicable → only the other counts.
    s = scoring.score(cat, {**plain, "M41": "not_applicable", "M42": "not_done"})
    assert s.chapters["X"] == 0.0
    s = scoring.score(cat, {**plain, "M41": "not_applicable", "M42": "not_applicable"})
    assert s.chapters["X"] is None
    # Overall: total weight over applicable items; one standard measure not done.
    weights = sum(i.weight for i in cat.items)
    s = scoring.score(cat, {**plain, "M01": "not_done"})
    assert s.overall == round(100 * (weights - 2) / weights, 1)


def test_recommendations_put_standard_gaps_first():
    cat = catalogue()
    given = {i.code: "done" for i in cat.items} | {
        "M13": "not_done",  # reinforced, not done
        "M05": "partial",  # standard, partial
        "M37": "not_done",  # standard, not done
        "M40": "not_applicable"}
    recs = scoring.recommendations(cat, given)
    assert [r.item.code for r in recs] == ["M37", "M05", "M13"]
    assert [r.priority for r in recs] == [2.0, 1.0, 1.0]


def test_peer_median_needs_five():
    four = [scoring.Scores(v, {"I": v}) for v in (10.0, 20.0, 30.0, 40.0)]
    assert scoring.peer_median(four, ["I"]) is None
    five = [*four, scoring.Scores(90.0, {"I": None})]
    median = scoring.peer_median(five, ["I"])
    assert median is not None and median.overall == 30.0
    assert median.chapters["I"] is None  # only four peers scored that chapter


# --- API ----------------------------------------------------------------------------------------

def test_submit_scores_and_history(client, personas, db):
    first = submit(client, personas, body={"answers": answers("partial")})
    assert first.status_code == 201, first.text
    assert first.json()["scores"]["overall"] == 50.0
    second = submit(client, personas, who="director_a",
                    body={"answers": answers(M01="not_done"), "security_budget_share": 6.5})
    assert second.status_code == 201
    r = client.get(f"{URL}/{personas.est['A'].finess}", headers=personas.auth("rssi_a"))
    body = r.json()
    assert [a["id"] for a in body["history"]] == [second.json()["id"], first.json()["id"]]
    assert body["latest"]["security_budget_share"] == 6.5
    assert body["recommendations"][0]["code"] == "M01"
    assert body["peers"]["median"] is None


def test_evidence_is_encrypted_at_rest_and_read_back(client, personas, db):
    body = {"answers": answers() | {"M37": {"answer": "done",
                                           "evidence": "Restauration testée le 12 mars sur bande"}}}
    r = submit(client, personas, body=body)
    assert r.status_code == 201
    stored = db.scalar(select(MaturityAnswer.evidence).where(MaturityAnswer.item_code == "M37"))
    assert stored and "bande" not in stored
    detail = client.get(f"{URL}/assessments/{r.json()['id']}", headers=personas.auth("analyst"))
    assert detail.status_code == 200
    m37 = next(a for a in detail.json()["answers"] if a["code"] == "M37")
    assert m37["evidence"] == "Restauration testée le 12 mars sur bande"


def _count(db: Session) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(MaturityAssessment)) or 0


@pytest.mark.parametrize(("body", "code", "words"), [
    ({"answers": {k: v for k, v in answers().items() if k != "M12"}}, "incomplete", "Mesure 12"),
    ({"answers": answers() | {"M99": {"answer": "done"}}}, "unknown-items", "M99"),
    ({"answers": answers() | {"M01": {"answer": "maybe"}}}, None, None),
    ({"answers": answers(), "security_budget_share": 140}, None, None),
])
def test_bad_questionnaires_are_refused_and_nothing_saved(client, personas, db, body, code, words):
    r = submit(client, personas, body=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    if code:
        assert r.json()["code"] == code
        assert words in r.json()["detail"]
    assert _count(db) == 0


def test_region_reads_scores_not_answers(client, personas):
    r = submit(client, personas)
    regional = client.get(f"{URL}/{personas.est['A'].finess}", headers=personas.auth("regional"))
    assert regional.status_code == 200
    assert regional.json()["recommendations"] is None
    assert client.get(f"{URL}/assessments/{r.json()['id']}",
                      headers=personas.auth("regional")).status_code == 404
    assert client.get(f"{URL}/{personas.est['A'].finess}",
                      headers=personas.auth("rssi_b")).status_code == 403
    table = client.get(f"{URL}/region/11", headers=personas.auth("regional")).json()
    row = next(x for x in table if x["finess"] == personas.est["A"].finess)
    assert row["overall"] == 100.0


# --- peers' median ------------------------------------------------------------------------------

def _peer(db: Session, i: int, *, category: str = "CH", dept: str = "75") -> Any:
    return orgs.create_establishment(db, actor=Actor.system("tests"),
                                     finess=finess(f"{dept}1000{i:02d}"), name=f"Pair {i}",
                                     category=category, department=dept, town="Paris")


def _assess(db: Session, est: Any, answer: str) -> None:
    service.record(db, est, {i.code: answer for i in catalogue().items}, {},
                   budget_share=None, by=None)


def test_median_appears_only_with_five_peers_and_reveals_no_answers(client, personas, db):
    submit(client, personas)
    # Not peers: another category in the region, the same category in another region.
    _assess(db, _peer(db, 90, category="CHU"), "not_done")
    _assess(db, _peer(db, 91, dept="69"), "not_done")
    peers = [_peer(db, i) for i in range(1, 6)]
    mixes = ["not_done", "partial", "done", "partial", "not_done"]
    for est, answer in zip(peers[:4], mixes[:4], strict=True):
        _assess(db, est, answer)
    db.flush()
    url = f"{URL}/{personas.est['A'].finess}"
    four = client.get(url, headers=personas.auth("rssi_a")).json()["peers"]
    assert four["count"] == 4 and four["median"] is None
    assert "au moins 5" in four["note"]
    _assess(db, peers[4], mixes[4])
    db.flush()
    r = client.get(url, headers=personas.auth("rssi_a"))
    five = r.json()["peers"]
    assert five["count"] == 5
    expected = statistics.median([{"done": 100.0, "partial": 50.0, "not_done": 0.0}[m]
                                  for m in mixes])
    assert five["median"]["overall"] == expected
    # Nothing names a peer or carries its answers.
    for peer in peers:
        assert peer.finess not in r.text and peer.name not in r.text


def test_a_peers_later_assessment_replaces_its_earlier_one(db, personas):
    peers = [_peer(db, i) for i in range(1, 6)]
    for est in peers:
        _assess(db, est, "not_done")
    _assess(db, peers[0], "done")  # a newer snapshot: the median uses only the latest
    got = service.peers(db, personas.est["A"])
    assert got.count == 5 and got.median is not None and got.median.overall == 0.0
    _assess(db, peers[1], "done")
    _assess(db, peers[2], "done")
    got = service.peers(db, personas.est["A"])
    assert got.median is not None and got.median.overall == 100.0


# --- pages --------------------------------------------------------------------------------------

def test_questionnaire_page_saves_and_shows_the_radar(client, personas, db):
    csrf = _sign_in(client, db, personas.users["rssi_a"])
    fin = personas.est["A"].finess
    page = client.get(f"/cyber/maturite/{fin}/questionnaire")
    assert page.status_code == 200 and "Mesure 42" in page.text
    form = {f"answer_{i.code}": "done" for i in catalogue().items}
    form |= {"answer_M19": "partial", "evidence_M19": "VLAN par pôle", "budget": "7,5",
             "csrf_token": csrf}
    r = client.post(f"/cyber/maturite/{fin}/questionnaire", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    summary = client.get(f"/cyber/maturite/{fin}")
    assert 'id="maturity-radar"' in summary.text and "data-radar" in summary.text
    assert "Mesure 19" in summary.text
    again = client.get(f"/cyber/maturite/{fin}/questionnaire")  # starts from the last answers
    assert 'value="VLAN par pôle"' in again.text


def test_questionnaire_page_says_what_is_missing(client, personas, db):
    csrf = _sign_in(client, db, personas.users["director_a"])
    fin = personas.est["A"].finess
    form = {f"answer_{i.code}": "done" for i in catalogue().items if i.code != "G3"}
    r = client.post(f"/cyber/maturite/{fin}/questionnaire", data=form | {"csrf_token": csrf})
    assert r.status_code == 422
    assert "questionnaire incomplet" in r.text and "Gouvernance G3" in r.text
    assert _count(db) == 0
    assert csrf_of(r.text)


def test_no_raw_evidence_in_database_dump(client, personas, db):
    body = {"answers": answers() | {"G6": {"answer": "partial", "evidence": "budget-secret-marqueur"}}}
    assert submit(client, personas, body=body).status_code == 201
    dump = db.execute(text("SELECT evidence FROM cyber_maturity_answers")).scalars().all()
    assert not any("budget-secret-marqueur" in (x or "") for x in dump)
